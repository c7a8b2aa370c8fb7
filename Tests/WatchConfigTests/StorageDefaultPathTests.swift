import Foundation
import Testing
import WatchConfig

/// The default store path the CLI and the service share (docs/configuration.md, `[storage]`).
struct StorageDefaultPathTests {
    @Test func stateDirectoryFirstThenTheServiceDirectoryThenTheWorkingDirectory() throws {
        let service = FileManager.default.temporaryDirectory.appendingPathComponent("ow-state-\(UUID().uuidString)").path
        let missing = service + "-missing"
        #expect(StorageSettings.defaultPath(environment: [:], serviceDirectory: missing) == "./outpostwatch.db")
        try FileManager.default.createDirectory(atPath: service, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: service) }
        #expect(StorageSettings.defaultPath(environment: [:], serviceDirectory: service) == service + "/state.db")
        #expect(StorageSettings.defaultPath(environment: ["STATE_DIRECTORY": "/run/a:/run/b"], serviceDirectory: service)
            == "/run/a/state.db")
        // A file of that name is not the state directory.
        let file = service + "/file"
        FileManager.default.createFile(atPath: file, contents: Data())
        #expect(StorageSettings.defaultPath(environment: [:], serviceDirectory: file) == "./outpostwatch.db")
        #expect(StorageSettings.serviceDirectory == "/var/lib/outpostwatch")
    }
}
