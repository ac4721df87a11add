// libFuzzer target: the safetensors reader (header, entries, tiling) and every tensor's decode.
import Foundation
import FuzzSupport
import Model

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let file = try? SafeTensorsFile(contentsOf: scratchFile(bytes, count, extension: "safetensors")) else { return 0 }
    for name in file.entries.keys.sorted() {
        _ = try? file.floats(name)
        if let entry = file.entries[name] { _ = try? file.finiteFloats(name, shape: entry.shape) }
    }
    return 0
}

runFuzzer { fuzz($0, $1) }
