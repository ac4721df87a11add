import Foundation
@testable import Suites
import XCTest

/// Known vectors from FIPS 180-4 and values computed with Python's hashlib.
final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex(of: ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(of: "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(of: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// Lengths around the padding boundary (55 bytes fit one block, 56 need two).
    func testPaddingBoundaries() {
        XCTAssertEqual(SHA256.hex(of: String(repeating: "x", count: 55)), "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072")
        XCTAssertEqual(SHA256.hex(of: String(repeating: "x", count: 56)), "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e")
        XCTAssertEqual(SHA256.hex(of: String(repeating: "x", count: 64)), "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c")
    }

    /// 1 MiB of bytes (i·31 + 7) mod 256, as hashlib.sha256(bytes((i*31+7)%256 for i in range(1<<20))).
    func testOneMebibyteBuffer() {
        let buffer = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let expected = "06b7bbfb7824aa03382051691630eb26de85102d1b08a81e907ec0744cd8a286"
        XCTAssertEqual(SHA256.hex(of: buffer), expected)
        XCTAssertEqual(SHA256.hex(of: Data(buffer)), expected)
        // Fed in uneven pieces, the streaming state gives the same digest.
        var hasher = SHA256()
        var start = 0, step = 1
        while start < buffer.count {
            let end = min(buffer.count, start + step)
            hasher.update(buffer[start..<end])
            start = end
            step = step * 3 % 1000 + 1
        }
        XCTAssertEqual(hasher.finalizeHex(), expected)
    }

    func testMillionAs() {
        XCTAssertEqual(SHA256.hex(of: [UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testFileHashMatchesBytes() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sha-\(UUID().uuidString).bin")
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertEqual(SHA256.hex(ofFileAt: url.path), SHA256.hex(of: bytes))
        XCTAssertNil(SHA256.hex(ofFileAt: "/nonexistent/file"))
    }
}
