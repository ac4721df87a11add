// libFuzzer target: the JSONL, CSV and TSV readers. The first byte picks the format (mod 3); the
// rest is the file. Labelled, similarity and generation (answer) records are all read.
import Foundation
import FuzzSupport
import Suites

let formats: [(DataFormat, String)] = [(.jsonl, "jsonl"), (.csv, "csv"), (.tsv, "tsv")]

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let (format, fileExtension) = formats[Int(bytes[0]) % 3]
    let path = scratchFile(bytes + 1, count - 1, extension: fileExtension).path
    _ = try? Dataset.load(path: path, format: format, labels: ["negative", "positive"])
    _ = try? Dataset.loadSimilarity(path: path, format: format)
    let file = DataFile(path: path, format: format)
    var generation = TaskSpec(train: file, validation: file, test: file, labels: [])
    generation.generation = GenerationSettings()
    _ = try? TaskData.load(generation)
    return 0
}

runFuzzer { fuzz($0, $1) }
