// libFuzzer target: the safetensors reader (header, entries, tiling) and every tensor's decode.
import Foundation
import Model

let scratch = URL(fileURLWithPath: "/dev/shm/evalharness-fuzz-\(getpid()).safetensors")

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    FileManager.default.createFile(atPath: scratch.path, contents: Data(bytes: bytes, count: count))
    guard let file = try? SafeTensorsFile(contentsOf: scratch) else { return 0 }
    for name in file.entries.keys.sorted() {
        _ = try? file.floats(name)
        if let entry = file.entries[name] { _ = try? file.finiteFloats(name, shape: entry.shape) }
    }
    return 0
}

// SwiftPM links an executable's `main`, so libFuzzer's own is not used: hand it the arguments.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ testOneInput: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

var argc = CommandLine.argc
var argv = Optional(CommandLine.unsafeArgv)
exit(LLVMFuzzerRunDriver(&argc, &argv) { fuzz($0, $1) })
