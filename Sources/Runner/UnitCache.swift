import Foundation

/// A content-addressed store of finished units: `DIR/units/<key>/unit.json` (the `UnitResult`) and,
/// for a candidate's first seed, `adapter/` (what `compare` exports). A unit whose key is present is
/// not trained again.
///
/// Safe under concurrent writers without locks: an entry is written completely into
/// `DIR/tmp/<unique>/` and published with one `rename(2)` to `units/<key>`; when another process
/// published the same key first, the rename fails and this copy is dropped (both are the same
/// result). Readers only ever see whole entries. Reading an entry refreshes its time, and
/// `prune` removes the least recently used entries beyond a size limit.
public struct UnitCache: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `$EVALHARNESS_CACHE`, else `$XDG_CACHE_HOME/evalharness`, else `~/.cache/evalharness`.
    public static var defaultDirectory: URL {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["EVALHARNESS_CACHE"], !explicit.isEmpty { return URL(fileURLWithPath: explicit) }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("evalharness")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/evalharness")
    }

    private var units: URL { directory.appendingPathComponent("units") }
    private func entry(_ key: String) -> URL { units.appendingPathComponent(key) }

    /// The stored result of `unit`, marked cached, or nil (absent or unreadable: a corrupt entry is
    /// removed and the unit trains again).
    public func lookup(_ unit: WorkUnit) -> UnitResult? {
        let file = entry(unit.key).appendingPathComponent("unit.json")
        guard let data = FileManager.default.contents(atPath: file.path) else { return nil }
        guard var result = try? JSONDecoder().decode(UnitResult.self, from: data), result.unit.key == unit.key else {
            try? FileManager.default.removeItem(at: entry(unit.key))
            return nil
        }
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: entry(unit.key).path)
        result.cached = true
        // The unit as planned now (its id and cost), with the stored outcome.
        return UnitResult(unit: unit, seedRun: result.seedRun, trainableParameters: result.trainableParameters,
                          baseWeightBytes: result.baseWeightBytes, baseScores: result.baseScores, cached: true)
    }

    /// Whether an entry for `unit` exists, without reading it or refreshing its time (for `plan`,
    /// which must not make entries look recently used).
    public func contains(_ unit: WorkUnit) -> Bool {
        FileManager.default.fileExists(atPath: entry(unit.key).appendingPathComponent("unit.json").path)
    }

    /// The stored adapter folder of a unit, if it has one.
    public func adapter(_ unit: WorkUnit) -> URL? {
        let folder = entry(unit.key).appendingPathComponent("adapter")
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) && isDirectory.boolValue ? folder : nil
    }

    /// Publishes a finished unit (and a copy of its adapter folder). Failures are not errors of the
    /// run — the cache is an optimisation — and are returned as text for a note.
    @discardableResult
    public func store(_ result: UnitResult, adapter: URL? = nil) -> String? {
        let fileManager = FileManager.default
        let staging = directory.appendingPathComponent("tmp").appendingPathComponent("\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        do {
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
            try fileManager.createDirectory(at: units, withIntermediateDirectories: true)
            var stored = result
            stored.cached = false
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(stored).write(to: staging.appendingPathComponent("unit.json"))
            if let adapter { try fileManager.copyItem(at: adapter, to: staging.appendingPathComponent("adapter")) }
            if rename(staging.path, entry(result.unit.key).path) != 0 {
                // Another process published this key first (EEXIST/ENOTEMPTY): its entry is as good.
                try? fileManager.removeItem(at: staging)
            }
            return nil
        } catch {
            try? fileManager.removeItem(at: staging)
            return "could not store unit \(result.unit.id) in the cache \(directory.path): \(error.localizedDescription)"
        }
    }

    /// Entries with their size and last use, oldest first.
    func entries() -> [(url: URL, bytes: Int, used: Date)] {
        let fileManager = FileManager.default
        guard let keys = try? fileManager.contentsOfDirectory(atPath: units.path) else { return [] }
        return keys.map { key in
            let url = units.appendingPathComponent(key)
            let used = (try? fileManager.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast
            return (url, Self.bytes(under: url), used)
        }.sorted { $0.used < $1.used }
    }

    /// Total bytes of the stored entries.
    public var size: Int { entries().reduce(0) { $0 + $1.bytes } }
    public var entryCount: Int { entries().count }

    /// Removes the least recently used entries until the rest take at most `limit` bytes, and
    /// staging folders older than an hour (left by killed processes). Returns (entries removed,
    /// bytes freed).
    @discardableResult
    public func prune(limit: Int) -> (removed: Int, bytes: Int) {
        let fileManager = FileManager.default
        let tmp = directory.appendingPathComponent("tmp")
        for name in (try? fileManager.contentsOfDirectory(atPath: tmp.path)) ?? [] {
            let url = tmp.appendingPathComponent(name)
            let modified = (try? fileManager.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast
            if Date().timeIntervalSince(modified) > 3600 { try? fileManager.removeItem(at: url) }
        }
        var all = entries()
        var total = all.reduce(0) { $0 + $1.bytes }
        var removed = 0, freed = 0
        while total > limit, !all.isEmpty {
            let oldest = all.removeFirst()
            if (try? fileManager.removeItem(at: oldest.url)) != nil {
                removed += 1; freed += oldest.bytes
            }
            total -= oldest.bytes
        }
        return (removed, freed)
    }

    static func bytes(under url: URL) -> Int {
        guard let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey]) else { return 0 }
        var total = 0
        for case let file as URL in enumerator {
            total += (try? file.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
        }
        return total
    }
}
