// libFuzzer target: the JSONL, CSV and TSV readers. The first byte picks the format (mod 3); the
// rest is the file. Labelled and similarity records are both read.
import Foundation
import Suites

let formats: [(DataFormat, String)] = [(.jsonl, "jsonl"), (.csv, "csv"), (.tsv, "tsv")]

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count >= 1 else { return 0 }
    let (format, fileExtension) = formats[Int(bytes[0]) % 3]
    let path = "/dev/shm/evalharness-fuzz-\(getpid()).\(fileExtension)"
    FileManager.default.createFile(atPath: path, contents: Data(bytes: bytes + 1, count: count - 1))
    _ = try? Dataset.load(path: path, format: format, labels: ["negative", "positive"])
    _ = try? Dataset.loadSimilarity(path: path, format: format)
    return 0
}

// SwiftPM links an executable's `main`, so libFuzzer's own is not used: hand it the arguments.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ testOneInput: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

var argc = CommandLine.argc
var argv = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzz($0, $1) })
