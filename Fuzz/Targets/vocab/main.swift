// libFuzzer target: vocab.txt, then tokenizing a fixed text with whatever vocabulary loaded.
import Foundation
import Tokenizer

let scratch = URL(fileURLWithPath: "/dev/shm/evalharness-fuzz-\(getpid())-vocab.txt")

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FileManager.default.createFile(atPath: scratch.path, contents: Data(bytes: bytes, count: count))
    guard let tokenizer = try? WordPieceTokenizer(vocabularyFile: scratch) else { return 0 }
    let ids = tokenizer.encode("Hello, wörld! Unaffable tokens: 12.5% — naïve café 東京", maxLength: 16)
    precondition(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize }, "token id outside the vocabulary")
    return 0
}

// SwiftPM links an executable's `main`, so libFuzzer's own is not used: hand it the arguments.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ testOneInput: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

var argc = CommandLine.argc
var argv = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzz($0, $1) })
