// What every fuzz target shares: starting libFuzzer's driver and a scratch file for readers that
// take a path.
import Foundation

/// libFuzzer's per-input callback: 0 to keep going.
public typealias FuzzTestOneInput = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ testOneInput: FuzzTestOneInput) -> CInt

/// Runs libFuzzer with the process's arguments. SwiftPM links the executable's own `main`, so
/// libFuzzer's is not used: the target's top-level code calls this instead.
public func runFuzzer(_ testOneInput: FuzzTestOneInput) -> Never {
    var argc = CommandLine.argc
    var argv = Optional(CommandLine.unsafeArgv)
    exit(LLVMFuzzerRunDriver(&argc, &argv, testOneInput))
}

/// Where scratch files go: shared memory when the machine has it (no disk writes), else the temporary folder.
let scratchFolder = FileManager.default.isWritableFile(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()

/// Writes the input to a scratch file (one per process and extension) and returns its URL.
public func scratchFile(_ bytes: UnsafePointer<UInt8>, _ count: Int, extension fileExtension: String) -> URL {
    let url = URL(fileURLWithPath: scratchFolder).appendingPathComponent("evalharness-fuzz-\(getpid()).\(fileExtension)")
    FileManager.default.createFile(atPath: url.path, contents: Data(bytes: bytes, count: count))
    return url
}
