// libFuzzer target: the suite parser (YAML limits, keys, values, checks).
import Foundation
import FuzzSupport
import Suites

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = try? SuiteSpec.parse(data: Data(bytes: bytes, count: count), path: "fuzz.yaml")
    return 0
}

runFuzzer { fuzz($0, $1) }
