import XCTest
final class SuitesPlaceholderTests: XCTestCase { func testNothing() {} }
