// libFuzzer target: vocab.txt, then tokenizing a fixed text with whatever vocabulary loaded.
import Foundation
import FuzzSupport
import Tokenizer

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let tokenizer = try? WordPieceTokenizer(vocabularyFile: scratchFile(bytes, count, extension: "txt")) else { return 0 }
    let ids = tokenizer.encode("Hello, wörld! Unaffable tokens: 12.5% — naïve café 東京", maxLength: 16)
    precondition(ids.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize }, "token id outside the vocabulary")
    return 0
}

runFuzzer { fuzz($0, $1) }
