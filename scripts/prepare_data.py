#!/usr/bin/env python3
"""Converts the downloaded data packages into JSONL under data/ (standard library only).

Called by scripts/fetch_data.sh, which does the downloading (pip, apt-get, dpkg-deb); this
helper reads the downloaded artifacts, checks the source files against pinned SHA-256 sums,
applies the label / split rules and writes every output atomically (temporary file, then
rename), then records it in data/MANIFEST.json. scripts/DATA_PREPARATION.md documents the rules
and the counts they give.

Commands (DATA is the data directory, normally <repo>/data):
  prepare_data.py check SOURCE --data DATA        exit 0 when SOURCE is converted and verified
  prepare_data.py vader --sdist SDIST --data DATA
  prepare_data.py wordnet --root EXTRACTED_DEB --package-version V --deb DEB --data DATA
  prepare_data.py similarity --wheel WHEEL --data DATA
  prepare_data.py summary --data DATA             counts per split and label, and hashes
Exit codes: 0 success, 1 'check' found the source missing or changed, 2 usage,
3 a source is not what was expected (hash, format, count) or the conversion failed.
"""

import argparse
import gzip
import hashlib
import io
import json
import math
import os
import re
import sys
import tarfile
import zipfile

# Bumped whenever a rule below changes, so that fetch_data.sh reconverts data made by older rules.
RULES_VERSION = 2

SOURCES = ("vader", "wordnet", "similarity")

# ---------------------------------------------------------------------------------------------
# Pinned inputs. A mismatch is an error (exit 3) unless --allow-drift is given: then the data is
# converted anyway and the manifest records the actual hashes.

VADER_PACKAGE = {"registry": "PyPI", "package": "vaderSentiment", "version": "3.3.2",
                 "artifact": "vaderSentiment-3.3.2.tar.gz (sdist)"}
VADER_INNER_TAR = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
# domain -> (file inside hutto_ICWSM_2014.tar.gz, SHA-256, number of rows)
VADER_DOMAINS = {
    "amazon": ("hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt",
               "11a9807a0974a2506a2d3b4851eaf69b3d6d20688ce4923adda2312a4f6dd6c2", 3708),
    "movie": ("hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt",
              "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350", 10605),
    "nyt": ("hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt",
            "7d8fbcce7dde5d716da53e78f4ef4be6b706e9ef1e1d51887e6d0ad4b69cc27e", 5190),
    "tweets": ("hutto_ICWSM_2014/tweets_GroundTruth.txt",
               "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f", 4200),
}

WORDNET_PACKAGE = {"registry": "Debian (apt-get download)", "package": "wordnet-base",
                   "version": None, "artifact": None}
# pos -> (path inside the .deb, SHA-256, number of synsets)
WORDNET_FILES = {
    "noun": ("usr/share/wordnet/data.noun",
             "fea17d2f9656611334eac790e5d69e47645fa180c4aa481fb4cd9b3520754ca2", 82115),
    "verb": ("usr/share/wordnet/data.verb",
             "adcf43e35b581e8036d8b5a52d63d9cd3d3b4870b2720d3c03c799df44777bc2", 13767),
    "adj": ("usr/share/wordnet/data.adj",
            "c89120dfc1f046ddff4a631bf9b7e9fa1a36b5e86565a23bf82dbe14f30b88a7", 18156),
    "adv": ("usr/share/wordnet/data.adv",
            "444a63bf3955080ab7524f5079cfc07ff9bc682cb98bdb1db73b0fb9829f1139", 3621),
}
WORDNET_PINNED_DEB_VERSION = "1:3.0-37"
# lexnames(5WN), WordNet 3.0: lexicographer file number -> name.
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
    "noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event",
    "noun.feeling", "noun.food", "noun.group", "noun.location", "noun.motive", "noun.object",
    "noun.person", "noun.phenomenon", "noun.plant", "noun.possession", "noun.process",
    "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather",
    "adj.ppl",
]
assert len(LEXNAMES) == 45
PROBE_CATEGORIES = [
    "noun.animal", "noun.plant", "noun.food", "noun.artifact", "noun.person", "noun.location",
    "noun.body", "noun.substance", "noun.communication", "noun.act",
]
PROBE_TRAIN_PER_LABEL = 120
PROBE_TEST_PER_LABEL = 40

GENSIM_PACKAGE = {"registry": "PyPI", "package": "gensim", "version": "4.4.0", "artifact": None}
GENSIM_DIR = "gensim/test/test_data/"
GENSIM_FILES = {
    "lee.cor": "a878f9a58f6743c32985c56c2f2f75988386216b38a4023a01fd3bcf7884d93e",
    "similarities0-1.txt": "23762bc6b728897144dda3d324a2c032dc1e059e1009806226d64b6dd123ed79",
    "simlex999.txt": "d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d",
    "wordsim353.tsv": "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
}
LEE_DOCS = 50

# ---------------------------------------------------------------------------------------------
# Rules, recorded verbatim in MANIFEST.json.

RULES = {
    "split_hash": (
        "bucket = int(sha256(id as UTF-8).hexdigest()[:8], 16) % 100, where id is the output "
        "record's id (e.g. 'movie-17', 'noun-02084071'). VADER: bucket < 70 -> train, "
        "< 80 -> validation, else test. WordNet: bucket < 80 -> train, else test. Records keep "
        "their source order within each split file."),
    "vader_labels": (
        "mean human rating r (-4..4): r > 0.5 -> 'positive', r < -0.5 -> 'negative', "
        "-0.5 <= r <= 0.5 (neutral) -> dropped. Text is the source text with outer whitespace "
        "stripped (otherwise unchanged: HTML entities such as &amp; in tweets are kept). Exact "
        "duplicate texts within a domain are dropped before labelling: the first occurrence in "
        "file order, with its rating, is kept. Source files are decoded as UTF-8 when valid, "
        "else cp1252, else latin-1 (the choice is recorded per file)."),
    "wordnet_labels": (
        "one record per synset of data.{noun,verb,adj,adv} (license header lines start with "
        "two spaces and are skipped); label = lexicographer file name of field 2 (lex_filenum, "
        "0-based index 1) via lexnames(5WN); text = the gloss after ' | ', cut before the first "
        "'; \"' or ': \"' (example sentences), outer whitespace and trailing ';' stripped. "
        "glosses.jsonl holds every synset; train/test (and the probe files) keep only the first "
        "synset (in glosses.jsonl order: noun, verb, adj, adv, by offset) of each exact "
        "duplicate text, so no text is in both splits."),
    "wordnet_probe": (
        "probe_{train,test}.jsonl: 10 noun categories (" + ", ".join(PROBE_CATEGORIES) + "); "
        "for each, the first %d records of train.jsonl and the first %d of test.jsonl in "
        "ascending sha256(id) hex order; both files list records in ascending sha256(id) order."
        % (PROBE_TRAIN_PER_LABEL, PROBE_TEST_PER_LABEL)),
    "wordnet_words": (
        "words_{train,validation,test}.jsonl: a generation task (a definition -> the word it defines) "
        "from the noun synsets of the de-duplicated glosses whose first word is 3 or more lowercase "
        "ASCII letters, as {id, text, answer}: answer = the synset's words in order, '_' -> ' ', "
        "those with an uppercase letter left out (the first is the one trained on). Split by the "
        "same bucket as train/test: bucket < 70 -> train, < 80 -> validation, else test (so "
        "words_test is a subset of test.jsonl's texts and words_train + words_validation of train's)."),
    "wordnet_food": (
        "food.jsonl: a rare-positive task in one file without ids (suites/examples/rare-food.yaml): "
        "the noun synsets of the de-duplicated glosses with bucket < 10, in glosses.jsonl order, as "
        "{text, is_food}: is_food = 1 for label noun.food, else 0."),
    "similarity": (
        "lee: lee.cor (50 documents, one a line, cp1252/latin-1) and similarities0-1.txt (50x50 "
        "tab-separated upper-triangular matrix: diagonal 1, below it 0); one pair per i < j, "
        "id 'lee-II-JJ' (0-based document numbers), score = matrix[i][j] (mean human rating "
        "1..5 divided by 5, so 0.2..1.0). simlex999 / wordsim353: '#' lines skipped, "
        "word1<TAB>word2<TAB>score (0..10), id '<set>-NNN' (1-based row), every row kept as "
        "given (including the repeated pairs)."),
}


# Files a source must have produced; a manifest without one was written by an older release.
SOURCE_FILES = {"wordnet": ["wordnet/words_%s.jsonl" % split for split in ("train", "validation", "test")]}


class SourceError(Exception):
    """A source is not what this script expects (exit 3)."""


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def bucket(record_id):
    return int(hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:8], 16) % 100


def hash_key(record_id):
    return hashlib.sha256(record_id.encode("utf-8")).hexdigest()


def progress(source, message):
    print("[%s] %s" % (source, message), flush=True)


def warn(message):
    print("warning: " + message, file=sys.stderr, flush=True)


def check_pinned(name, data, expected, allow_drift):
    actual = sha256_bytes(data)
    if actual != expected:
        message = "%s has SHA-256 %s, expected %s" % (name, actual, expected)
        if not allow_drift:
            raise SourceError(message + " (set FETCH_DATA_ALLOW_SOURCE_DRIFT=1 to convert it anyway)")
        warn(message + " (converting anyway: --allow-drift)")
    return actual


def decode_robustly(data):
    """Returns (text, encoding). UTF-8 (BOM removed) when valid, else cp1252, else latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte string")


def split_lines(text):
    """Lines without terminators; CRLF, LF and lone CR end a line, nothing else does (unlike
    str.splitlines, which also splits on U+2028, form feeds and friends). A final empty line
    (file ending in a newline) is dropped."""
    lines = re.split(r"\r\n|\n|\r", text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def line_endings(data):
    crlf = data.count(b"\r\n")
    return {"crlf": crlf, "lf_only": data.count(b"\n") - crlf, "cr_only": data.count(b"\r") - crlf}


def jsonl_bytes(records):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def write_atomic(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Output:
    """Collects a source's output files; commit() writes them and then updates the manifest."""

    def __init__(self, data_dir, source, package):
        self.data_dir = data_dir
        self.source = source
        self.package = package
        self.files = {}   # relative path -> (bytes, entry)

    def add(self, rel_path, records, inner_path, label_key=None):
        data = jsonl_bytes(records)
        entry = {
            "sha256": sha256_bytes(data),
            "lines": len(records),
            "bytes": len(data),
            "source": self.source,
            "registry": self.package["registry"],
            "package": self.package["package"],
            "version": self.package["version"],
            "inner_path": inner_path,
        }
        if label_key is not None:
            counts = {}
            for r in records:
                counts[r[label_key]] = counts.get(r[label_key], 0) + 1
            entry["labels"] = dict(sorted(counts.items()))
        self.files[rel_path] = (data, entry)

    def commit(self, source_info):
        for rel_path, (data, _) in sorted(self.files.items()):
            write_atomic(os.path.join(self.data_dir, rel_path), data)
        manifest = load_manifest(self.data_dir) or {}
        if manifest.get("rules_version") != RULES_VERSION:
            manifest = {}
        files = {k: v for k, v in manifest.get("files", {}).items() if v.get("source") != self.source}
        for rel_path, (_, entry) in self.files.items():
            files[rel_path] = entry
        sources = dict(manifest.get("sources", {}))
        sources[self.source] = source_info
        manifest = {
            "generator": "scripts/fetch_data.sh + scripts/prepare_data.py",
            "rules_version": RULES_VERSION,
            "rules": RULES,
            "sources": dict(sorted(sources.items())),
            "files": dict(sorted(files.items())),
        }
        write_atomic(manifest_path(self.data_dir),
                     (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        for rel_path, (_, entry) in sorted(self.files.items()):
            progress(self.source, "wrote %s (%d lines, sha256 %s)" % (rel_path, entry["lines"], entry["sha256"][:16]))


def manifest_path(data_dir):
    return os.path.join(data_dir, "MANIFEST.json")


def load_manifest(data_dir):
    try:
        with open(manifest_path(data_dir), encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (ValueError, OSError) as e:
        warn("ignoring unreadable %s: %s" % (manifest_path(data_dir), e))
        return None


# ---------------------------------------------------------------------------------------------
# check


def cmd_check(args):
    manifest = load_manifest(args.data)
    if manifest is None:
        print("[%s] not converted yet (no %s)" % (args.source, manifest_path(args.data)))
        return 1
    if manifest.get("rules_version") != RULES_VERSION:
        print("[%s] converted by other rules (rules_version %r, now %d)"
              % (args.source, manifest.get("rules_version"), RULES_VERSION))
        return 1
    if args.source not in manifest.get("sources", {}):
        print("[%s] not converted yet" % args.source)
        return 1
    entries = {k: v for k, v in manifest.get("files", {}).items() if v.get("source") == args.source}
    missing = [f for f in SOURCE_FILES.get(args.source, []) if f not in entries]
    if missing:
        print("[%s] converted by an older release (no %s)" % (args.source, ", ".join(missing)))
        return 1
    if not entries:
        print("[%s] the manifest lists no files" % args.source)
        return 1
    for rel_path, entry in sorted(entries.items()):
        path = os.path.join(args.data, rel_path)
        if not os.path.isfile(path):
            print("[%s] %s is missing" % (args.source, rel_path))
            return 1
        if os.path.getsize(path) != entry.get("bytes") or sha256_file(path) != entry.get("sha256"):
            print("[%s] %s differs from the manifest" % (args.source, rel_path))
            return 1
    print("[%s] already converted and verified (%d files match data/MANIFEST.json): skipping"
          % (args.source, len(entries)))
    return 0


# ---------------------------------------------------------------------------------------------
# VADER


def cmd_vader(args):
    progress("vader", "reading %s" % os.path.basename(args.sdist))
    with tarfile.open(args.sdist, "r:gz") as sdist:
        try:
            inner = sdist.extractfile(VADER_INNER_TAR)
        except KeyError:
            inner = None
        if inner is None:
            raise SourceError("%s has no %s" % (args.sdist, VADER_INNER_TAR))
        inner_bytes = inner.read()
    sources = {}
    out = Output(args.data, "vader", VADER_PACKAGE)
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as corpus:
        for domain, (member, expected_sha, expected_rows) in VADER_DOMAINS.items():
            f = corpus.extractfile(member) if member in corpus.getnames() else None
            if f is None:
                raise SourceError("%s has no %s" % (VADER_INNER_TAR, member))
            raw = f.read()
            actual_sha = check_pinned(member, raw, expected_sha, args.allow_drift)
            text, encoding = decode_robustly(raw)
            lines = split_lines(text)
            rows, blank = [], 0
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    blank += 1
                    continue
                fields = line.split("\t", 2)
                if len(fields) != 3:
                    raise SourceError("%s line %d: expected 3 tab-separated fields, got %d: %r"
                                      % (member, number, len(fields), line[:80]))
                source_id, rating_text, snippet = fields
                try:
                    rating = float(rating_text)
                except ValueError:
                    raise SourceError("%s line %d: rating %r is not a number" % (member, number, rating_text))
                if not math.isfinite(rating) or not -4.0 <= rating <= 4.0:
                    raise SourceError("%s line %d: rating %r is outside -4..4" % (member, number, rating_text))
                rows.append((source_id.strip(), rating, snippet.strip()))
            if len(rows) != expected_rows:
                message = "%s has %d rows, expected %d" % (member, len(rows), expected_rows)
                if not args.allow_drift:
                    raise SourceError(message)
                warn(message)
            ids = set()
            seen_texts = set()
            kept, duplicates, empty_texts = [], 0, 0
            for source_id, rating, snippet in rows:
                if source_id in ids:
                    raise SourceError("%s: id %s appears twice" % (member, source_id))
                ids.add(source_id)
                if not snippet:
                    empty_texts += 1
                    continue
                if snippet in seen_texts:
                    duplicates += 1
                    continue
                seen_texts.add(snippet)
                kept.append((source_id, rating, snippet))
            splits = {"train": [], "validation": [], "test": []}
            neutral = 0
            for source_id, rating, snippet in kept:
                if rating > 0.5:
                    label = "positive"
                elif rating < -0.5:
                    label = "negative"
                else:
                    neutral += 1
                    continue
                record_id = "%s-%s" % (domain, source_id)
                b = bucket(record_id)
                split = "train" if b < 70 else "validation" if b < 80 else "test"
                splits[split].append({"id": record_id, "text": snippet, "label": label, "rating": rating})
            inner_path = "%s :: %s" % (VADER_INNER_TAR, member)
            for split, records in splits.items():
                out.add("vader/%s/%s.jsonl" % (domain, split), records, inner_path, label_key="label")
            labelled = sum(len(r) for r in splits.values())
            non_ascii = sum(1 for byte in raw if byte > 127)
            sources[domain] = {
                "inner_path": inner_path, "sha256": actual_sha, "encoding": encoding,
                "non_ascii_bytes": non_ascii, "line_endings": line_endings(raw),
                "rows": len(rows), "blank_lines": blank, "empty_texts_dropped": empty_texts,
                "duplicate_texts_dropped": duplicates, "neutral_dropped": neutral,
                "labelled": labelled,
            }
            progress("vader", "%-6s %s: %d rows (%s, %d non-ASCII bytes), %d duplicate texts dropped, "
                     "%d neutral dropped, %d labelled -> train %d / validation %d / test %d"
                     % (domain, os.path.basename(member), len(rows), encoding, non_ascii, duplicates,
                        neutral, labelled, len(splits["train"]), len(splits["validation"]),
                        len(splits["test"])))
    info = dict(VADER_PACKAGE)
    info.update({"artifact_sha256": sha256_file(args.sdist),
                 "inner_archive_sha256": sha256_bytes(inner_bytes), "domains": sources})
    out.commit(info)
    return 0


# ---------------------------------------------------------------------------------------------
# WordNet


def lexnames_from_docs(root):
    """The lexicographer file list the package ships: usr/share/wordnet/lexnames if present,
    else the table in the lexnames(5WN) manual page. Returns (list or None, where from)."""
    plain = os.path.join(root, "usr/share/wordnet/lexnames")
    if os.path.isfile(plain):
        with open(plain, encoding="utf-8") as f:
            text, where = f.read(), "usr/share/wordnet/lexnames"
    else:
        page = None
        for candidate in ("usr/share/man/man5/lexnames.5WN.gz", "usr/share/man/man5/lexnames.5.gz"):
            if os.path.isfile(os.path.join(root, candidate)):
                page = candidate
                break
        if page is None:
            return None, None
        with gzip.open(os.path.join(root, page), "rt", encoding="utf-8", errors="replace") as f:
            text, where = f.read(), page
    names = {}
    for line in text.splitlines():
        m = re.match(r"^(\d\d)\t\s*([a-z]+\.[A-Za-z]+)\s*(\t|$)", line)
        if m:
            names[int(m.group(1))] = m.group(2)
    if not names:
        return None, where
    return [names.get(i) for i in range(max(names) + 1)], where


def gloss_definition(gloss):
    """The definition part of a gloss: before the first example sentence ('; "' or ': "')."""
    cuts = [i for i in (gloss.find('; "'), gloss.find(': "')) if i >= 0]
    definition = gloss[:min(cuts)] if cuts else gloss
    definition = definition.strip().rstrip(";").strip()
    return definition, bool(cuts)


def cmd_wordnet(args):
    shipped, where = lexnames_from_docs(args.root)
    if shipped is None:
        warn("the package ships no lexnames list; using the built-in lexnames(5WN) table unchecked")
        lexnames_check = "not shipped; built-in table used unchecked"
    elif shipped != LEXNAMES:
        raise SourceError("the lexicographer names in %s differ from lexnames(5WN) of WordNet 3.0: %r"
                          % (where, shipped))
    else:
        lexnames_check = "built-in table equals %s (%d names)" % (where, len(shipped))
        progress("wordnet", "lexnames: " + lexnames_check)
    pos_prefix = {"noun": ("noun.",), "verb": ("verb.",), "adj": ("adj.",), "adv": ("adv.",)}
    ss_types = {"noun": {"n"}, "verb": {"v"}, "adj": {"a", "s"}, "adv": {"r"}}
    records = []
    synset_words = {}
    files_info = {}
    examples_cut = 0
    for pos, (inner, expected_sha, expected_count) in WORDNET_FILES.items():
        path = os.path.join(args.root, inner)
        if not os.path.isfile(path):
            raise SourceError("the package has no %s" % inner)
        with open(path, "rb") as f:
            raw = f.read()
        actual_sha = check_pinned(inner, raw, expected_sha, args.allow_drift)
        text, encoding = decode_robustly(raw)
        if encoding != "utf-8":
            warn("%s is not UTF-8; decoded as %s" % (inner, encoding))
        header, count = 0, 0
        offset = 0
        for line in raw.split(b"\n"):
            line_offset = offset
            offset += len(line) + 1
            if not line:
                continue
            if line.startswith(b"  "):
                header += 1
                continue
            decoded, _ = decode_robustly(line)
            head, bar, gloss = decoded.partition(" | ")
            if not bar:
                raise SourceError("%s at byte %d: no ' | ' before the gloss" % (inner, line_offset))
            fields = head.split(" ")
            if len(fields) < 4 or not fields[0].isdigit() or not fields[1].isdigit():
                raise SourceError("%s at byte %d: unexpected synset line %r" % (inner, line_offset, decoded[:60]))
            if int(fields[0]) != line_offset:
                raise SourceError("%s: synset_offset %s does not match its byte offset %d"
                                  % (inner, fields[0], line_offset))
            if fields[2] not in ss_types[pos]:
                raise SourceError("%s: synset %s has ss_type %r" % (inner, fields[0], fields[2]))
            lexnum = int(fields[1])
            if lexnum >= len(LEXNAMES) or not LEXNAMES[lexnum].startswith(pos_prefix[pos]):
                raise SourceError("%s: synset %s has lex_filenum %s, not a %s category"
                                  % (inner, fields[0], fields[1], pos))
            word_count = int(fields[3], 16)
            words = [fields[4 + 2 * i].replace("_", " ") for i in range(word_count)]
            definition, had_example = gloss_definition(gloss)
            if not definition:
                definition = gloss.strip()
            examples_cut += had_example
            records.append({"id": "%s-%s" % (pos, fields[0]), "text": definition, "label": LEXNAMES[lexnum]})
            synset_words["%s-%s" % (pos, fields[0])] = words
            count += 1
        if count != expected_count:
            message = "%s has %d synsets, expected %d" % (inner, count, expected_count)
            if not args.allow_drift:
                raise SourceError(message)
            warn(message)
        files_info[pos] = {"inner_path": inner, "sha256": actual_sha, "encoding": encoding,
                           "license_header_lines": header, "synsets": count}
        progress("wordnet", "%-4s %s: %d synsets (%d license header lines skipped, %s)"
                 % (pos, inner, count, header, encoding))
    seen, unique, duplicates = set(), [], 0
    for r in records:
        if r["text"] in seen:
            duplicates += 1
            continue
        seen.add(r["text"])
        unique.append(r)
    train = [r for r in unique if bucket(r["id"]) < 80]
    test = [r for r in unique if bucket(r["id"]) >= 80]
    probe_train, probe_test = [], []
    for category in PROBE_CATEGORIES:
        for pool, n, dest in ((train, PROBE_TRAIN_PER_LABEL, probe_train), (test, PROBE_TEST_PER_LABEL, probe_test)):
            chosen = sorted((r for r in pool if r["label"] == category), key=lambda r: hash_key(r["id"]))[:n]
            if len(chosen) < n:
                raise SourceError("%s has only %d records for the probe, %d wanted" % (category, len(chosen), n))
            dest.extend(chosen)
    probe_train.sort(key=lambda r: hash_key(r["id"]))
    probe_test.sort(key=lambda r: hash_key(r["id"]))
    inner_all = "usr/share/wordnet/data.{noun,verb,adj,adv}"
    out = Output(args.data, "wordnet", dict(WORDNET_PACKAGE, version=args.package_version))
    out.add("wordnet/glosses.jsonl", records, inner_all, label_key="label")
    out.add("wordnet/train.jsonl", train, inner_all, label_key="label")
    out.add("wordnet/test.jsonl", test, inner_all, label_key="label")
    out.add("wordnet/probe_train.jsonl", probe_train, inner_all, label_key="label")
    out.add("wordnet/probe_test.jsonl", probe_test, inner_all, label_key="label")
    food = [{"text": r["text"], "is_food": 1 if r["label"] == "noun.food" else 0}
            for r in unique if r["id"].startswith("noun-") and bucket(r["id"]) < 10]
    out.add("wordnet/food.jsonl", food, inner_all, label_key="is_food")
    words = {"train": [], "validation": [], "test": []}
    for r in unique:
        first = synset_words[r["id"]][0]
        if not r["id"].startswith("noun-") or not (len(first) >= 3 and first.isascii() and first.isalpha() and first.islower()):
            continue
        answers = [w for w in synset_words[r["id"]] if w == w.lower()]
        b = bucket(r["id"])
        split = "train" if b < 70 else ("validation" if b < 80 else "test")
        words[split].append({"id": r["id"], "text": r["text"], "answer": answers})
    for split in ("train", "validation", "test"):
        out.add("wordnet/words_%s.jsonl" % split, words[split], inner_all)
    progress("wordnet", "%d glosses (%d with example sentences cut), %d duplicate texts left out of the "
             "splits -> train %d / test %d; probe %d / %d"
             % (len(records), examples_cut, duplicates, len(train), len(test), len(probe_train), len(probe_test)))
    if args.package_version != WORDNET_PINNED_DEB_VERSION:
        warn("wordnet-base is %s; the pinned hashes were taken from %s"
             % (args.package_version, WORDNET_PINNED_DEB_VERSION))
    info = dict(WORDNET_PACKAGE, version=args.package_version,
                artifact=os.path.basename(args.deb), artifact_sha256=sha256_file(args.deb),
                files=files_info, lexnames_check=lexnames_check, glosses=len(records),
                example_sentences_cut=examples_cut, duplicate_texts_left_out=duplicates,
                probe_categories=PROBE_CATEGORIES)
    out.commit(info)
    return 0


# ---------------------------------------------------------------------------------------------
# Similarity sets (gensim test data)


def parse_word_pairs(name, text):
    pairs, comments = [], []
    for number, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            comments.append(line)
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise SourceError("%s line %d: expected word1<TAB>word2<TAB>score, got %r" % (name, number, line))
        try:
            score = float(fields[2])
        except ValueError:
            raise SourceError("%s line %d: score %r is not a number" % (name, number, fields[2]))
        pairs.append((fields[0].strip(), fields[1].strip(), score))
    return pairs, comments


def cmd_similarity(args):
    progress("similarity", "reading %s" % os.path.basename(args.wheel))
    raw = {}
    with zipfile.ZipFile(args.wheel) as wheel:
        names = set(wheel.namelist())
        for name, expected in GENSIM_FILES.items():
            member = GENSIM_DIR + name
            if member not in names:
                raise SourceError("%s has no %s" % (args.wheel, member))
            raw[name] = wheel.read(member)
    files_info = {}
    decoded = {}
    for name, data in raw.items():
        sha = check_pinned(GENSIM_DIR + name, data, GENSIM_FILES[name], args.allow_drift)
        decoded[name], encoding = decode_robustly(data)
        files_info[name] = {"inner_path": GENSIM_DIR + name, "sha256": sha, "encoding": encoding,
                            "non_ascii_bytes": sum(1 for b in data if b > 127)}
        progress("similarity", "%s: %s, %d non-ASCII bytes" % (name, encoding, files_info[name]["non_ascii_bytes"]))
    out = Output(args.data, "similarity", dict(GENSIM_PACKAGE))

    docs = [d.strip() for d in split_lines(decoded["lee.cor"])]
    if len(docs) != LEE_DOCS or not all(docs):
        raise SourceError("lee.cor: expected %d non-empty documents, got %d" % (LEE_DOCS, len(docs)))
    matrix = []
    for number, line in enumerate(split_lines(decoded["similarities0-1.txt"]), 1):
        try:
            matrix.append([float(x) for x in line.split("\t")])
        except ValueError:
            raise SourceError("similarities0-1.txt line %d is not tab-separated numbers" % number)
    n = len(docs)
    if len(matrix) != n or any(len(row) != n for row in matrix):
        raise SourceError("similarities0-1.txt: expected a %dx%d matrix" % (n, n))
    upper_triangular = all(matrix[i][j] == 0.0 for i in range(n) for j in range(i))
    symmetric = all(matrix[i][j] == matrix[j][i] for i in range(n) for j in range(i))
    if not (upper_triangular or symmetric):
        raise SourceError("similarities0-1.txt is neither upper-triangular nor symmetric")
    lee = []
    for i in range(n):
        for j in range(i + 1, n):
            score = matrix[i][j]
            if not 0.0 <= score <= 1.0:
                raise SourceError("similarities0-1.txt: score %r at (%d, %d) is outside 0..1" % (score, i, j))
            lee.append({"id": "lee-%02d-%02d" % (i, j), "text_a": docs[i], "text_b": docs[j], "score": score})
    files_info["similarities0-1.txt"].update(
        {"layout": "upper-triangular" if upper_triangular else "symmetric",
         "diagonal": sorted(set(matrix[i][i] for i in range(n)))})
    out.add("similarity/lee.jsonl", lee, GENSIM_DIR + "lee.cor + " + GENSIM_DIR + "similarities0-1.txt")
    progress("similarity", "lee: %d documents, %s matrix -> %d pairs (scores %.2f..%.2f)"
             % (n, files_info["similarities0-1.txt"]["layout"], len(lee),
                min(p["score"] for p in lee), max(p["score"] for p in lee)))

    for name, set_name, expected in (("simlex999.txt", "simlex999", 999), ("wordsim353.tsv", "wordsim353", 353)):
        pairs, comments = parse_word_pairs(name, decoded[name])
        if len(pairs) != expected:
            message = "%s has %d pairs, expected %d" % (name, len(pairs), expected)
            if not args.allow_drift:
                raise SourceError(message)
            warn(message)
        records = [{"id": "%s-%03d" % (set_name, k), "text_a": a, "text_b": b, "score": s}
                   for k, (a, b, s) in enumerate(pairs, 1)]
        unordered = {}
        for a, b, _ in pairs:
            key = frozenset((a.lower(), b.lower()))
            unordered[key] = unordered.get(key, 0) + 1
        repeated = sorted("/".join(sorted(k)) for k, c in unordered.items() if c > 1)
        files_info[name].update({"comment_lines": comments, "pairs": len(pairs), "repeated_pairs": repeated})
        out.add("similarity/%s.jsonl" % set_name, records, GENSIM_DIR + name)
        progress("similarity", "%s: %d pairs (%d comment lines skipped; repeated pairs kept: %s; scores %.2f..%.2f)"
                 % (set_name, len(records), len(comments), ", ".join(repeated) or "none",
                    min(p[2] for p in pairs), max(p[2] for p in pairs)))
    info = dict(GENSIM_PACKAGE, artifact=os.path.basename(args.wheel),
                artifact_sha256=sha256_file(args.wheel), files=files_info)
    out.commit(info)
    return 0


# ---------------------------------------------------------------------------------------------
# summary


def cmd_summary(args):
    manifest = load_manifest(args.data)
    if manifest is None:
        print("no %s" % manifest_path(args.data))
        return 1
    print("%-34s %7s  %-64s  %s" % ("file (under data/)", "lines", "sha256", "labels"))
    for rel_path, entry in manifest["files"].items():
        labels = entry.get("labels")
        label_text = " ".join("%s=%d" % kv for kv in labels.items()) if labels and len(labels) <= 10 else \
            ("%d labels" % len(labels) if labels else "")
        print("%-34s %7d  %s  %s" % (rel_path, entry["lines"], entry["sha256"], label_text))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check")
    p.add_argument("source", choices=SOURCES)
    p.add_argument("--data", required=True)
    p = sub.add_parser("vader")
    p.add_argument("--sdist", required=True)
    p = sub.add_parser("wordnet")
    p.add_argument("--root", required=True, help="directory the .deb was extracted into (dpkg-deb -x)")
    p.add_argument("--deb", required=True)
    p.add_argument("--package-version", required=True)
    p = sub.add_parser("similarity")
    p.add_argument("--wheel", required=True)
    p = sub.add_parser("summary")
    p.add_argument("--data", required=True)
    for name in ("vader", "wordnet", "similarity"):
        sp = sub.choices[name]
        sp.add_argument("--data", required=True)
        sp.add_argument("--allow-drift", action="store_true",
                        default=os.environ.get("FETCH_DATA_ALLOW_SOURCE_DRIFT") == "1",
                        help="convert sources whose SHA-256 or row count differs from the pinned ones")
    args = parser.parse_args(argv)
    commands = {"check": cmd_check, "vader": cmd_vader, "wordnet": cmd_wordnet,
                "similarity": cmd_similarity, "summary": cmd_summary}
    try:
        return commands[args.command](args)
    except SourceError as e:
        print("error: %s" % e, file=sys.stderr)
        return 3
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as e:
        print("error: %s" % e, file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
