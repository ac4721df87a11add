import Evaluation
import Foundation
@testable import Suites
import XCTest

final class DatasetTests: XCTestCase {
    let labels = ["neg", "pos"]

    func load(_ path: String, format: DataFormat? = nil, labels: [String]? = nil) throws(SuiteError) -> [Example] {
        try Dataset.load(path: path, format: format, labels: labels ?? self.labels)
    }

    func loadError(_ path: String, format: DataFormat? = nil, labels: [String]? = nil, file: StaticString = #filePath, line: UInt = #line) -> String? {
        expectSuiteError({ () throws(SuiteError) in try self.load(path, format: format, labels: labels) }, file: file, line: line)?.description
    }

    // MARK: Readers

    func testJSONL() throws {
        let examples = try load(Fixtures.data("train.jsonl"))
        XCTAssertEqual(examples, [
            Example(id: "t1", text: "a fine film", label: 1),
            Example(id: "t2", text: "a dull film", label: 0),
            Example(id: "3", text: "shared sentence", label: 1),   // a numeric id becomes text
            Example(id: "t4", text: "another dull one", label: 0),  // extra keys are ignored
            Example(id: "t5", text: "validation copy", label: 0),
            Example(id: "t6", text: "shared sentence", label: 0),
        ])
    }

    func testCSVQuoting() throws {
        let examples = try load(Fixtures.data("validation.csv"))
        XCTAssertEqual(examples, [
            Example(id: "v1", text: "quoted, with comma", label: 1),
            Example(id: "v2", text: "she said \"hi\"", label: 0),
            Example(id: "v3", text: "two\r\nlines", label: 1),
            Example(id: "v4", text: "validation copy", label: 0),
        ])
        let temp = try TemporaryDirectory()
        let path = try temp.write("more.csv", "text,id,label\n\"\",x,neg\n\"a \"\"b\"\" c\",\"y\",pos\nplain \"quote\" kept,z,neg\n\"line\none\",w,pos")
        // An empty quoted text is an error; the rest parses, header columns in any order.
        XCTAssertEqual(loadError(path), "\(path):2: text: empty text")
        try temp.write("more.csv", "text,id,label\n\"a \"\"b\"\" c\",\"y\",pos\nplain \"quote\" kept,z,neg\n\n\"line\none\",w,pos")
        XCTAssertEqual(try load(path), [
            Example(id: "y", text: "a \"b\" c", label: 1),
            Example(id: "z", text: "plain \"quote\" kept", label: 0),
            Example(id: "w", text: "line\none", label: 1),
        ])
    }

    func testCSVErrors() throws {
        let temp = try TemporaryDirectory()
        let unterminated = try temp.write("a.csv", "id,text,label\n1,ok,neg\n2,\"never closed,pos\n3,x,neg\n")
        XCTAssertEqual(loadError(unterminated), "\(unterminated):3: unterminated quoted field (a \" opens it on this line and none closes it)")
        let fieldCount = try temp.write("b.csv", "id,text,label\n1,a, b,neg\n")
        XCTAssertEqual(loadError(fieldCount), "\(fieldCount):2: expected 3 fields as in the header, got 4 (a field with a comma must be in double quotes)")
        let afterQuote = try temp.write("c.csv", "id,text,label\n1,\"a\"b,neg\n")
        XCTAssertEqual(loadError(afterQuote), "\(afterQuote):2: unexpected character after a closing quote; inside a quoted field write a quote as \"\"")
        let noColumn = try temp.write("d.csv", "id,sentence,label\n1,a,neg\n")
        XCTAssertEqual(loadError(noColumn), "\(noColumn):1: text: no such column; the header has id, sentence, label")
        let twice = try temp.write("e.csv", "id,text,text,label\n")
        XCTAssertEqual(loadError(twice), "\(twice):1: text: the header names this column twice (columns 2 and 3)")
        let latin1 = temp.url.appendingPathComponent("f.csv")
        try Data("id,text,label\n1,caf".utf8 + [0xE9] + Data(",neg\n".utf8)).write(to: latin1)
        XCTAssertEqual(loadError(latin1.path), "\(latin1.path):2: is not valid UTF-8; save the file as UTF-8")
    }

    func testTSV() throws {
        XCTAssertEqual(try load(Fixtures.data("test.tsv")), [
            Example(id: "s1", text: "tabbed text, with comma", label: 0),
            Example(id: "s2", text: "shared sentence", label: 1),
            Example(id: "s3", text: "\"quotes stay\"", label: 1),   // no quoting in TSV
        ])
        let temp = try TemporaryDirectory()
        let path = try temp.write("x.tsv", "id\ttext\tlabel\r\na\tb\tneg\r\nc\td\r\n")
        XCTAssertEqual(loadError(path), "\(path):3: expected 3 fields as in the header, got 2")
        // An explicit format wins over the extension.
        let renamed = try temp.write("x.txt", "id\ttext\tlabel\na\tb\tneg\n")
        XCTAssertEqual(try load(renamed, format: .tsv), [Example(id: "a", text: "b", label: 0)])
        XCTAssertEqual(loadError(renamed), "\(renamed): cannot tell the format from the extension; use .jsonl, .csv or .tsv, or give the format")
    }

    func testJSONLErrors() throws {
        let temp = try TemporaryDirectory()
        let badJSON = try temp.write("a.jsonl", "{\"id\": 1, \"text\": \"x\", \"label\": \"neg\"}\n{\"id\": 2, \"text\": \"y\",, }\n")
        XCTAssertEqual(loadError(badJSON), "\(badJSON):2: invalid JSON: Invalid value around column 23.")
        let notObject = try temp.write("b.jsonl", "[1, 2]\n")
        XCTAssertEqual(loadError(notObject), "\(notObject):1: expected a JSON object ({...}) on each line, got an array or object")
        let missing = try temp.write("c.jsonl", "{\"id\": 1, \"txt\": \"x\", \"label\": \"neg\"}\n")
        XCTAssertEqual(loadError(missing), "\(missing):1: text: missing; the record has keys id, label, txt")
        let wrongType = try temp.write("d.jsonl", "{\"id\": 1, \"text\": 5, \"label\": \"neg\"}\n")
        XCTAssertEqual(loadError(wrongType), "\(wrongType):1: text: expected a string, got a number")
        let nullID = try temp.write("e.jsonl", "{\"id\": null, \"text\": \"x\", \"label\": \"neg\"}\n")
        XCTAssertEqual(loadError(nullID), "\(nullID):1: id: expected a string or a number, got null")
        let boolLabel = try temp.write("f.jsonl", "{\"id\": \"a\", \"text\": \"x\", \"label\": true}\n")
        XCTAssertEqual(loadError(boolLabel), "\(boolLabel):1: label: expected a string or an integer, got a boolean")
        XCTAssertEqual(loadError("/nonexistent/x.jsonl"), "/nonexistent/x.jsonl: no such file")
    }

    /// Integer labels in the file match labels written as numbers in the suite.
    func testNumericLabelsAndIDs() throws {
        let temp = try TemporaryDirectory()
        let path = try temp.write("n.jsonl", "{\"id\": 10, \"text\": \"x\", \"label\": 1}\n{\"id\": 2.5, \"text\": \"y\", \"label\": 0}\n")
        XCTAssertEqual(try load(path, labels: ["0", "1"]), [Example(id: "10", text: "x", label: 1), Example(id: "2.5", text: "y", label: 0)])
    }

    func testLabelNotAllowed() throws {
        let temp = try TemporaryDirectory()
        let path = try temp.write("l.jsonl", "{\"id\": \"a\", \"text\": \"x\", \"label\": \"pos\"}\n{\"id\": \"b\", \"text\": \"y\", \"label\": \"neutral\"}\n")
        XCTAssertEqual(loadError(path), "\(path):2: label: \"neutral\" is not one of the labels (allowed: neg, pos)")
    }

    func testDuplicateIDs() throws {
        let temp = try TemporaryDirectory()
        let path = try temp.write("d.jsonl", """
        {"id": "a", "text": "x", "label": "pos"}
        {"id": "b", "text": "y", "label": "neg"}
        {"id": "a", "text": "z", "label": "neg"}
        """)
        XCTAssertEqual(loadError(path), "\(path):3: id: duplicate id \"a\" (first on line 1)")
        // A number and a string with the same text are the same id.
        let mixed = try temp.write("m.jsonl", "{\"id\": 7, \"text\": \"x\", \"label\": \"pos\"}\n\n{\"id\": \"7\", \"text\": \"y\", \"label\": \"neg\"}\n")
        XCTAssertEqual(loadError(mixed), "\(mixed):3: id: duplicate id \"7\" (first on line 1)")
    }

    func testEmptySplit() throws {
        let temp = try TemporaryDirectory()
        let empty = try temp.write("e.jsonl", "\n  \n")
        XCTAssertEqual(loadError(empty), "\(empty): no examples: the file is empty (empty split)")
        let headerOnly = try temp.write("h.csv", "id,text,label\r\n")
        XCTAssertEqual(loadError(headerOnly), "\(headerOnly): no examples: the file has a header row and nothing else (empty split)")
    }

    func testSimilarityPairs() throws {
        let pairs = try Dataset.loadSimilarity(path: Fixtures.data("similarity.jsonl"))
        XCTAssertEqual(pairs.first, SimilarityPair(id: "p1", textA: "cat", textB: "dog", score: 0.5))
        XCTAssertEqual(pairs.count, 4)
        let words = try Dataset.loadSimilarity(path: Fixtures.data("words.csv"), textAField: "a", textBField: "b", scoreField: "s")
        XCTAssertEqual(words, [SimilarityPair(id: "w1", textA: "king", textB: "queen", score: 8.5),
                               SimilarityPair(id: "w2", textA: "coast", textB: "shore", score: 9.1)])
        let temp = try TemporaryDirectory()
        let bad = try temp.write("s.csv", "id,text_a,text_b,score\n1,a,b,high\n")
        XCTAssertEqual(expectSuiteError { () throws(SuiteError) in try Dataset.loadSimilarity(path: bad) }?.description,
                       "\(bad):2: score: expected a number, got \"high\"")
    }

    // MARK: TaskData

    func fixtureTask(limit: SplitLimits = SplitLimits()) -> TaskSpec {
        TaskSpec(train: DataFile(Fixtures.data("train.jsonl")), validation: DataFile(Fixtures.data("validation.csv")),
                 test: DataFile(Fixtures.data("test.tsv")), labels: labels, limit: limit)
    }

    func testContaminationAndIdentities() throws {
        let data = try TaskData.load(fixtureTask())
        XCTAssertEqual(data.train.count, 6)
        XCTAssertEqual(data.contamination, [
            Contamination(split: "validation", id: "v4", trainID: "t5", text: "validation copy"),
            Contamination(split: "test", id: "s2", trainID: "3", text: "shared sentence"),
        ])
        XCTAssertEqual(data.files.map(\.role), ["train", "validation", "test"])
        XCTAssertEqual(data.files.map(\.examples), [6, 4, 3])
        let trainBytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.data("train.jsonl")))
        XCTAssertEqual(data.files[0].sha256, SHA256.hex(of: trainBytes))
        XCTAssertEqual(data.files[0].path, Fixtures.data("train.jsonl"))
        XCTAssertEqual(data.warnings, [])
    }

    func testTestLabelMissingFromTrain() throws {
        let temp = try TemporaryDirectory()
        let train = try temp.write("train.jsonl", "{\"id\": \"a\", \"text\": \"x\", \"label\": \"neg\"}\n")
        let validation = try temp.write("validation.jsonl", "{\"id\": \"b\", \"text\": \"y\", \"label\": \"neg\"}\n")
        let test = try temp.write("test.jsonl", "{\"id\": \"c\", \"text\": \"z\", \"label\": \"neg\"}\n{\"id\": \"d\", \"text\": \"w\", \"label\": \"pos\"}\n")
        let task = TaskSpec(train: DataFile(train), validation: DataFile(validation), test: DataFile(test), labels: labels)
        let error = expectSuiteError { () throws(SuiteError) in try TaskData.load(task) }
        XCTAssertEqual(error?.description, "\(test):2: label: test label \"pos\" never appears in the training split (\(train))")
    }

    /// `limit` keeps the N examples with the smallest SHA-256(id), in file order — the same as
    /// Python's sorted(ids, key=lambda i: hashlib.sha256(i.encode()).hexdigest())[:N].
    func testLimitDeterminism() throws {
        let ids = (1...20).map { "movie-\($0)" }
        XCTAssertEqual(Subset.first(5, of: ids) { $0 }, ["movie-4", "movie-5", "movie-9", "movie-14", "movie-17"])
        let twelve = Subset.first(12, of: ids) { $0 }
        XCTAssertEqual(twelve, ["movie-2", "movie-4", "movie-5", "movie-6", "movie-7", "movie-9", "movie-11", "movie-12",
                                "movie-14", "movie-16", "movie-17", "movie-19"])
        // Independent of the input order (apart from the order of what is kept), nested in larger limits.
        XCTAssertEqual(Set(Subset.first(5, of: ids.reversed()) { $0 }), Set(Subset.first(5, of: ids) { $0 }))
        XCTAssertTrue(Set(Subset.first(5, of: ids) { $0 }).isSubset(of: Set(twelve)))
        XCTAssertEqual(Subset.first(nil, of: ids) { $0 }, ids)
        XCTAssertEqual(Subset.first(50, of: ids) { $0 }, ids)

        let limited = try TaskData.load(fixtureTask(limit: SplitLimits(train: 4, validation: 2)))
        let expectedTrain = Subset.first(4, of: try load(Fixtures.data("train.jsonl"))) { $0.id }
        XCTAssertEqual(limited.train, expectedTrain)
        XCTAssertEqual(limited.validation.count, 2)
        XCTAssertEqual(limited.test.count, 3)
        XCTAssertEqual(limited.files.map(\.examples), [4, 2, 3])
        XCTAssertEqual(try TaskData.load(fixtureTask(limit: SplitLimits(train: 4, validation: 2))), limited)
    }

    func testRetentionData() throws {
        let spec = try SuiteSpec.load(path: Fixtures.path("full.yaml"))
        var retention = spec.retention
        retention.similarity[0].file.path = Fixtures.data("similarity.jsonl")
        retention.similarity[1].file.path = Fixtures.data("words.csv")
        retention.probes[0].train.path = Fixtures.data("probe_train.jsonl")
        retention.probes[0].test.path = Fixtures.data("probe_test.jsonl")
        let data = try RetentionData.load(retention)
        XCTAssertEqual(data.similarity[0].pairs.map(\.id), Subset.first(3, of: ["p1", "p2", "p3", "p4"]) { $0 })
        XCTAssertEqual(data.similarity[1].pairs.count, 2)
        XCTAssertEqual(data.probes[0].labels, ["noun.animal", "noun.food", "noun.plant"])
        XCTAssertEqual(data.probes[0].train.count, 6)
        XCTAssertEqual(data.probes[0].test.count, 2)
        XCTAssertEqual(data.files.map(\.role), ["similarity:pairs", "similarity:words", "probe:nouns:train", "probe:nouns:test"])
        XCTAssertEqual(data.files.map(\.examples), [3, 2, 6, 2])
    }

    // MARK: Speed

    /// 7,000 JSONL lines like the movie split load in milliseconds (a loose bound for debug builds).
    func testLoadingSpeed() throws {
        let temp = try TemporaryDirectory()
        var text = ""
        for i in 0..<7000 {
            text += "{\"id\": \"movie-\(i)\", \"text\": \"The gorgeously elaborate continuation of ''The Lord of the Rings'' trilogy is so huge that a column of words cannot adequately describe it \(i) é.\", \"label\": \"\(i % 2 == 0 ? "pos" : "neg")\", \"rating\": 2.26666666667}\n"
        }
        let path = try temp.write("big.jsonl", text)
        let start = Date()
        let examples = try load(path)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(examples.count, 7000)
        print("loaded 7000 JSONL lines in \(String(format: "%.1f", seconds * 1000)) ms")
        XCTAssertLessThan(seconds, 2.0)
    }

    /// The real movie split, when scripts/fetch_data.sh has run (data/ is git-ignored).
    func testRealMovieData() throws {
        let root = Fixtures.repositoryRoot.appendingPathComponent("data/vader/movie")
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("train.jsonl").path) else {
            throw XCTSkip("data/ is missing; run scripts/fetch_data.sh")
        }
        let task = TaskSpec(train: DataFile(root.appendingPathComponent("train.jsonl").path),
                            validation: DataFile(root.appendingPathComponent("validation.jsonl").path),
                            test: DataFile(root.appendingPathComponent("test.jsonl").path),
                            labels: ["negative", "positive"])
        let start = Date()
        let data = try TaskData.load(task)
        print("loaded the movie domain (\(data.train.count + data.validation.count + data.test.count) examples) in \(String(format: "%.1f", Date().timeIntervalSince(start) * 1000)) ms")
        XCTAssertEqual(data.files.map(\.examples), [6965, 1010, 2066])
        // The hashes scripts/DATA_PREPARATION.md lists.
        XCTAssertEqual(data.files.map(\.sha256), [
            "e595d9e1f91132c39a64bba53ad9033b5a37c248ea877c07ac55d567ea52eaba",
            "0828275c5af21a12d66b4447b499a61b97add2d924b32c83e631c34a7fc73789",
            "537924fd891d9262e1d319ed43ebbd1ca5bd8f4661f7237797f8451e02e31fcd",
        ])
        XCTAssertEqual(data.train.filter { $0.label == 1 }.count, 3458)
        // Duplicate texts were dropped within the domain, so no split shares a text with train.
        XCTAssertEqual(data.contamination, [])
    }
}

/// The JSONL fast path gives what JSONSerialization gives, and leaves everything else to it.
final class FlatJSONTests: XCTestCase {
    func foundation(_ line: String) throws -> [String: FieldValue] {
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        return object.mapValues(RecordFile.convert)
    }

    func fast(_ line: String) -> [String: FieldValue]? {
        Array(line.utf8).withUnsafeBufferPointer { FlatJSONObject.parse($0) }
    }

    func testParityWithJSONSerialization() throws {
        let lines = [
            #"{"id": "movie-1", "text": "The Rock is ''Conan'' \u00e9 caf\u00e9", "label": "positive", "rating": 2.26666666667}"#,
            #"{"id": 17, "text": "tab\there \"quoted\" back\\slash \/ \b\f\n\r", "label": 1, "x": -0.5, "y": 1e2, "z": 1.0}"#,
            #"{"id": -3, "text": "emoji \ud83d\ude00 and é ½ – ü", "flag": true, "other": false, "none": null}"#,
            #"  { "a" : "b" , "c":0 }  "#,
            #"{}"#,
            #"{"big": 9007199254740992, "small": -9007199254740992, "e": 2.5E-3, "zero": -0}"#,
        ]
        for line in lines {
            let fastValues = try XCTUnwrap(fast(line), line)
            XCTAssertEqual(fastValues, try foundation(line), line)
        }
        XCTAssertEqual(fast(#"{"id": 17}"#)?["id"], .number(text: "17", value: 17))
        XCTAssertEqual(fast(#"{"id": 2.5}"#)?["id"], .number(text: "2.5", value: 2.5))
    }

    func testDeclinesWhatItDoesNotHandle() {
        for line in [
            #"{"a": [1, 2]}"#, #"{"a": {"b": 1}}"#, #"{"a": 18446744073709551615}"#, #"{"a": -9223372036854775808}"#, #"{"a": "\ud83d"}"#,
            #"{"a": 01}"#, #"{"a": 1.}"#, #"{"a": "x"} extra"#, #"{"a": "x",}"#, #"{"a" "x"}"#, "{\"a\": \"tab\there\"}",
            #"[1]"#, #"{"a": tru}"#, #"{"a": "\x"}"#,
        ] {
            XCTAssertNil(fast(line), line)
        }
    }
}
