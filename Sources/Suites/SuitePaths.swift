import Foundation

enum SuitePaths {
    /// For a relative path: " (relative paths resolve against the current directory, /x/y)".
    static func relativeNote(_ path: String) -> String {
        path.hasPrefix("/") ? "" : " (relative paths resolve against the current directory, \(FileManager.default.currentDirectoryPath))"
    }

    /// 1-based line of the first byte sequence that is not UTF-8.
    static func firstInvalidUTF8Line(_ data: Data) -> Int? {
        var line = 1
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            if String(data: data[start..<end], encoding: .utf8) == nil { return line }
            line += 1
            start = end < data.endIndex ? data.index(after: end) : end
        }
        return nil
    }
}

extension SuiteSpec {
    /// Checks that every file and folder the suite names exists, before anything is loaded or
    /// trained: the model (a folder with its family's files, `ModelFamily.folderFiles`, or a GGUF file), the task's
    /// three splits and every retention file. The baseline may be missing (no run stored yet: its
    /// checks are skipped; see `baselineExists`) but not a folder. The error points at the suite
    /// line that names the path.
    public func validateFiles() throws(SuiteError) {
        let fileManager = FileManager.default
        func fail(_ field: String, _ message: String) -> SuiteError {
            SuiteError(file: sourcePath, line: lines[field], field: field, message: message)
        }
        var isDirectory: ObjCBool = false
        let family = modelFamily
        guard fileManager.fileExists(atPath: model.path, isDirectory: &isDirectory) else {
            throw fail("model.path", "no such \(family.loadsFromFile ? "file or folder" : "folder") \(Field.quoted(model.path))" + SuitePaths.relativeNote(model.path)
                       + (family.loadsFromFile ? "; scripts/fetch_decoder.sh downloads SmolLM2" : "; scripts/fetch_model.sh downloads the default model"))
        }
        if isDirectory.boolValue {
            for name in family.folderFiles {
                let file = (model.path as NSString).appendingPathComponent(name)
                guard fileManager.fileExists(atPath: file) else {
                    throw fail("model.path", "the model folder \(Field.quoted(model.path)) has no \(name)")
                }
            }
        } else {
            guard family.loadsFromFile else {
                throw fail("model.path", "\(Field.quoted(model.path)) is a file, expected a model folder (or a .gguf file)")
            }
            guard fileManager.isReadableFile(atPath: model.path) else {
                throw fail("model.path", "\(Field.quoted(model.path)) cannot be read (permissions?)")
            }
        }

        var files: [(field: String, path: String)] = task.oneFile.map { [("task.data", $0.file.path)] } ?? [
            ("task.train", task.train.path), ("task.validation", task.validation.path), ("task.test", task.test.path),
        ]
        for (index, set) in retention.similarity.enumerated() {
            files.append(("retention.similarity[\(index)].path", set.file.path))
        }
        for (index, probe) in retention.probes.enumerated() {
            files.append(("retention.probes[\(index)].train", probe.train.path))
            files.append(("retention.probes[\(index)].test", probe.test.path))
        }
        for (index, set) in retention.zeroShot.enumerated() {
            files.append(("retention.zero_shot[\(index)].path", set.file.path))
        }
        for (index, set) in retention.languageModeling.enumerated() {
            files.append(("retention.language_modeling[\(index)].path", set.file.path))
        }
        for (field, path) in files {
            guard fileManager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                var message = "no such file \(Field.quoted(path))" + SuitePaths.relativeNote(path)
                if path.hasPrefix("data/") || path.contains("/data/") { message += "; scripts/fetch_data.sh creates data/" }
                throw fail(field, message)
            }
            guard !isDirectory.boolValue else { throw fail(field, "\(Field.quoted(path)) is a folder, expected a file") }
            guard fileManager.isReadableFile(atPath: path) else { throw fail(field, "\(Field.quoted(path)) cannot be read (permissions?)") }
        }
        if let baseline, fileManager.fileExists(atPath: baseline, isDirectory: &isDirectory), isDirectory.boolValue {
            throw fail("baseline", "\(Field.quoted(baseline)) is a folder, expected a results.json file")
        }
    }

    /// Whether the suite names a baseline and the file exists (a first run has none yet).
    public var baselineExists: Bool {
        guard let baseline else { return false }
        return FileManager.default.fileExists(atPath: baseline)
    }
}
