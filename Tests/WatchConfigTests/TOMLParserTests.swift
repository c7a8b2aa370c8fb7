import Testing
import WatchConfig

private func parseError(_ doc: String) -> TOMLSyntaxError? {
    do {
        _ = try TOMLParser.parse(doc)
        return nil
    } catch {
        return error
    }
}

@Suite("TOML parser: positions and errors")
struct TOMLParserTests {
    @Test("every key and value carries its 1-based line and column")
    func positions() throws {
        let doc = #"""
        # comment
        title = "x"
        [poll]
          interval  =   "5m"
        [[webhook]]
        name = 'ops'
        headers = { "X-Team" = "infra", b.c = 2 }
        list = [
          1,
          "é日本", 3,
        ]
        [[webhook]]
        name = """
        multi
        line"""
        after = true
        """#
        let root = try TOMLParser.parse(doc)
        let title = try #require(root["title"])
        #expect(title.keyPosition == SourcePosition(line: 2, column: 1))
        #expect(title.node.position == SourcePosition(line: 2, column: 9))

        let pollEntry = try #require(root["poll"])
        guard case .table(let poll) = pollEntry.node.value else { Issue.record("poll is not a table"); return }
        #expect(pollEntry.node.position == SourcePosition(line: 3, column: 1))
        let interval = try #require(poll["interval"])
        #expect(interval.keyPosition == SourcePosition(line: 4, column: 3))
        #expect(interval.node.position == SourcePosition(line: 4, column: 17))

        guard case .array(let hooks)? = root["webhook"]?.node.value, hooks.count == 2,
              case .table(let first) = hooks[0].value, case .table(let second) = hooks[1].value else {
            Issue.record("webhook is not an array of two tables")
            return
        }
        #expect(hooks[0].position == SourcePosition(line: 5, column: 1))
        #expect(hooks[1].position == SourcePosition(line: 12, column: 1))
        guard case .table(let headers)? = first["headers"]?.node.value else { Issue.record("headers"); return }
        #expect(headers["X-Team"]?.keyPosition == SourcePosition(line: 7, column: 13))
        #expect(headers["X-Team"]?.node.position == SourcePosition(line: 7, column: 24))
        guard case .table(let b)? = headers["b"]?.node.value else { Issue.record("b.c"); return }
        #expect(b["c"]?.keyPosition == SourcePosition(line: 7, column: 35))
        guard case .array(let list)? = first["list"]?.node.value else { Issue.record("list"); return }
        #expect(list.map(\.position) == [SourcePosition(line: 9, column: 3), SourcePosition(line: 10, column: 3),
                                         SourcePosition(line: 10, column: 10)])
        guard case .string(let name)? = second["name"]?.node.value else { Issue.record("name"); return }
        #expect(name == "multi\nline")
        #expect(second["after"]?.keyPosition == SourcePosition(line: 16, column: 1))
    }

    @Test("CRLF line ends give the same positions as LF")
    func crlf() throws {
        let root = try TOMLParser.parse("a = 1\r\n\r\n  b = \"x\"\r\n")
        #expect(root["b"]?.keyPosition == SourcePosition(line: 3, column: 3))
        #expect(root["b"]?.node.position == SourcePosition(line: 3, column: 7))
    }

    @Test("syntax errors point at the offending spot", arguments: [
        ("a = 1\na = 2\n", 2, 1, "duplicate key a: already defined at 1:1"),
        ("[poll]\nx = 1\n[poll]\n", 3, 2, "table [poll] is defined twice (first at 1:1)"),
        ("region = us-west-2\n", 1, 10, "strings must be quoted"),
        ("a = \"abc\n", 1, 9, "unterminated string"),
        ("a = \"\\q\"\n", 1, 6, "invalid escape sequence \\q"),
        ("a = {x = 1,}\n", 1, 11, "trailing comma"),
        ("a = {x = 1\n", 1, 11, "one line"),
        ("a = [1 2]\n", 1, 8, "expected ',' or ']'"),
        ("a = 1 b\n", 1, 7, "expected the end of the line"),
        ("a = 01\n", 1, 5, "leading zeros"),
        ("a = 1__0\n", 1, 6, "underscore"),
        ("[a]\nb = 1\n[a.b]\n", 3, 4, "key a.b already has a value"),
        ("a = {}\n[a.b]\n", 2, 2, "cannot extend the inline table a"),
        ("[[a]]\n[a]\n", 2, 2, "array of tables"),
        ("x.y = 1\n[x]\n", 2, 2, "already defined by dotted keys"),
        ("a = \"é\" é\n", 1, 9, "expected the end of the line"),
        ("é = 1\n", 1, 1, "expected a key"),
    ] as [(String, Int, Int, String)])
    func errorPositions(doc: String, line: Int, column: Int, message: String) throws {
        let error = try #require(parseError(doc), "accepted: \(doc)")
        #expect(error.position == SourcePosition(line: line, column: column), "\(error)")
        #expect(error.message.contains(message), "\(error)")
    }

    @Test("values of every kind")
    func values() throws {
        let root = try TOMLParser.parse("""
        s = "tab\\tquote\\"u\\u00e9U\\U0001F600"
        l = 'C:\\no\\escape'
        ml = '''
        raw ''line'' '''
        i = [0xff, 0o17, 0b101, -9_223_372_036_854_775_808, +7]
        f = [1e3, -0.5, inf, -inf, 6.25E-1]
        n = nan
        b = [true, false]
        """)
        guard case .string(let s)? = root["s"]?.node.value else { Issue.record("s"); return }
        #expect(s == "tab\tquote\"u\u{e9}U\u{1F600}")
        guard case .string(let l)? = root["l"]?.node.value else { Issue.record("l"); return }
        #expect(l == "C:\\no\\escape")
        guard case .string(let ml)? = root["ml"]?.node.value else { Issue.record("ml"); return }
        #expect(ml == "raw ''line'' ")
        guard case .array(let ints)? = root["i"]?.node.value else { Issue.record("i"); return }
        let intValues: [Int64] = ints.compactMap { if case .integer(let v) = $0.value { v } else { nil } }
        #expect(intValues == [255, 15, 5, Int64.min, 7])
        guard case .array(let floats)? = root["f"]?.node.value else { Issue.record("f"); return }
        let floatValues: [Double] = floats.compactMap { if case .float(let v) = $0.value { v } else { nil } }
        #expect(floatValues == [1000, -0.5, .infinity, -.infinity, 0.625])
        guard case .float(let n)? = root["n"]?.node.value else { Issue.record("n"); return }
        #expect(n.isNaN)
    }
}
