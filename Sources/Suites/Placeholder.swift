// Suites: see SuiteSpec.
