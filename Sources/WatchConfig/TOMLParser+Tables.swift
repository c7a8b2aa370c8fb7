// Table headers (`[a.b]`, `[[a]]`) and key insertion, with TOML's defined-once rules.

extension Parser {
    mutating func tableHeader() throws(TOMLSyntaxError) {
        let (open, table, last, name) = try readHeader(opening: 1, closing: "]", what: "table header")
        if let existing = table.entries[last.name] {
            switch existing.node.value {
            case .table(let sub):
                switch sub.kind {
                case .implicit:
                    sub.kind = .header
                    sub.position = position(open)
                    current = sub
                    return
                case .header:
                    throw error("table [\(name)] is defined twice (first at \(sub.position))", at: last.position)
                case .dotted:
                    throw error("table [\(name)] was already defined by dotted keys at \(existing.keyPosition)",
                                at: last.position)
                case .inline:
                    throw error("table [\(name)] was already defined as an inline table at \(sub.position)",
                                at: last.position)
                }
            case .array(let array):
                throw error(array.ofTables
                            ? "[\(name)] is an array of tables ([[\(name)]]) defined at \(existing.keyPosition)"
                            : "key \(name) is already an array (at \(existing.keyPosition))", at: last.position)
            case .scalar:
                throw error("key \(name) already has a value (at \(existing.keyPosition))", at: last.position)
            }
        }
        let sub = MutableTable(kind: .header, position: position(open))
        table.insert(last.name, MutableEntry(keyPosition: last.position,
                                             node: MutableNode(value: .table(sub), position: position(open))))
        current = sub
    }

    mutating func arrayOfTablesHeader() throws(TOMLSyntaxError) {
        let (open, table, last, name) = try readHeader(opening: 2, closing: "]]", what: "array-of-tables header")
        let element = MutableTable(kind: .header, position: position(open))
        let elementNode = MutableNode(value: .table(element), position: position(open))
        if let existing = table.entries[last.name] {
            switch existing.node.value {
            case .array(let array) where array.ofTables:
                array.items.append(elementNode)
            case .array:
                throw error("cannot append to \(name): it is a static array defined at \(existing.keyPosition)",
                            at: last.position)
            case .table:
                throw error("[[\(name)]] conflicts with the table \(name) defined at \(existing.keyPosition)",
                            at: last.position)
            case .scalar:
                throw error("key \(name) already has a value (at \(existing.keyPosition))", at: last.position)
            }
        } else {
            let array = MutableArray(ofTables: true, items: [elementNode])
            table.insert(last.name, MutableEntry(keyPosition: last.position,
                                                 node: MutableNode(value: .array(array), position: position(open))))
        }
        current = element
    }

    /// Reads a header's key between its brackets and walks to the table that holds its last
    /// part: the opening position, that table, the last part and the header's display name.
    private mutating func readHeader(opening: Int, closing: String, what: String)
        throws(TOMLSyntaxError) -> (open: Int, parent: MutableTable, last: KeyPart, name: String) {
        let open = pos
        pos += opening
        skipWhitespace()
        let parts = try parseKey()
        guard starts(with: closing) else { throw error("expected '\(closing)' to close the \(what)", at: pos) }
        pos += closing.count
        currentSection = nextSectionID()
        var table = root
        for (index, part) in parts.dropLast().enumerated() {
            table = try descendForHeader(table, part, path: parts[...index])
        }
        return (open, table, parts[parts.count - 1], Self.display(parts))
    }

    /// Walks one key part of a header: any non-inline table may hold a sub-table, and an array
    /// of tables stands for its last element.
    private func descendForHeader(_ table: MutableTable, _ part: KeyPart,
                                  path: ArraySlice<KeyPart>) throws(TOMLSyntaxError) -> MutableTable {
        let name = Self.display(Array(path))
        guard let existing = table.entries[part.name] else {
            let sub = MutableTable(kind: .implicit, position: part.position)
            table.insert(part.name, MutableEntry(keyPosition: part.position,
                                                 node: MutableNode(value: .table(sub), position: part.position)))
            return sub
        }
        switch existing.node.value {
        case .table(let sub):
            if sub.kind == .inline {
                throw error("cannot extend the inline table \(name) defined at \(sub.position)", at: part.position)
            }
            return sub
        case .array(let array):
            guard array.ofTables, case .table(let last)? = array.items.last?.value else {
                throw error("cannot extend \(name): it is a static array defined at \(existing.keyPosition)",
                            at: part.position)
            }
            return last
        case .scalar:
            throw error("key \(name) already has a value (at \(existing.keyPosition)), it cannot be a table",
                        at: part.position)
        }
    }

    /// Adds `a.b.c = value` to `table`, creating `a` and `a.b` as dotted-key tables.
    func insert(_ parts: [KeyPart], _ node: MutableNode, into table: MutableTable,
                        section: Int) throws(TOMLSyntaxError) {
        var target = table
        for (index, part) in parts.dropLast().enumerated() {
            let name = Self.display(Array(parts[...index]))
            guard let existing = target.entries[part.name] else {
                let sub = MutableTable(kind: .dotted(section: section), position: part.position)
                target.insert(part.name, MutableEntry(keyPosition: part.position,
                                                      node: MutableNode(value: .table(sub), position: part.position)))
                target = sub
                continue
            }
            switch existing.node.value {
            case .table(let sub):
                switch sub.kind {
                case .implicit:
                    sub.kind = .dotted(section: section)
                case .dotted(let defined) where defined == section:
                    break
                case .dotted:
                    throw error("cannot add to table \(name) here: it was defined by dotted keys in an earlier section (at \(existing.keyPosition))",
                                at: part.position)
                case .header:
                    throw error("cannot add to table \(name) with a dotted key: it has its own [header] at \(sub.position)",
                                at: part.position)
                case .inline:
                    throw error("cannot extend the inline table \(name) defined at \(sub.position)",
                                at: part.position)
                }
                target = sub
            case .array:
                throw error("cannot add keys to the array \(name) defined at \(existing.keyPosition)",
                            at: part.position)
            case .scalar:
                throw error("key \(name) already has a value (at \(existing.keyPosition)), it cannot be a table",
                            at: part.position)
            }
        }
        let last = parts[parts.count - 1]
        if let existing = target.entries[last.name] {
            throw error("duplicate key \(Self.display(parts)): already defined at \(existing.keyPosition)",
                        at: last.position)
        }
        target.insert(last.name, MutableEntry(keyPosition: last.position, node: node))
    }
}
