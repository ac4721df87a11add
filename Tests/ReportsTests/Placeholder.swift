import XCTest
final class ReportsPlaceholderTests: XCTestCase { func testNothing() {} }
