/// The version of outpostwatch, reported by `--version` and in every `user-agent`.
public enum OutpostwatchVersion {
    public static let string = "0.1.0"
}
