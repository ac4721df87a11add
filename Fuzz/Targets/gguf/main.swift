// libFuzzer target: the GGUF reader (header, metadata, tensor table), every tensor's
// dequantisation, the Llama config and the tokenizer built from the metadata.
import Foundation
import FuzzSupport
import Model
import Tokenizer

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let file = try? GGUFFile(contentsOf: scratchFile(bytes, count, extension: "gguf")) else { return 0 }
    for tensor in file.tensors { _ = file.floats(tensor) }
    _ = try? LlamaConfig(gguf: file)
    if let tokenizer = try? GGUFTokenizer(file) {
        let ids = tokenizer.bpe.encode("Hello  world 123 <|im_start|>é😀")
        _ = tokenizer.bpe.decode(ids)
        _ = tokenizer.chatTemplate.flatMap(ChatTemplate.init(jinja:))
    }
    return 0
}

runFuzzer { fuzz($0, $1) }
