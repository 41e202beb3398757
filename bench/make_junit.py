"""Writes a JUnit XML report of about ARGV[1] megabytes to standard output, shaped as the JUnit
parsing benchmark's (crates/ingest/benches/junit.rs): suites of 1,000 cases, 1 % errors, 5 %
failures with a traceback, 2 % skipped, and six lines of captured output per case."""
import sys

target = int(float(sys.argv[1]) * 1_000_000)
w = sys.stdout.write
written = 0


def put(s):
    global written
    w(s)
    written += len(s.encode())


put('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="bench" time="1234.5" '
    'timestamp="2025-01-06T10:00:00Z">\n')
i = suite = 0
while written < target:
    put(f'  <testsuite name="pkg.module{suite}" tests="1000" time="12.5">\n')
    for _ in range(1000):
        case = [f'    <testcase classname="pkg.module{suite}.TestClass{i % 7}" '
                f'name="test_case_{i}_checks_the_dataset_migration[param-{i % 13}]" '
                f'time="0.{i % 997:03}">\n']
        n = i % 100
        if n == 0:
            case.append('      <error message="RuntimeError: fixture could not connect to db:5432" '
                        'type="RuntimeError">Traceback (most recent call last):\nRuntimeError: '
                        'fixture could not connect</error>\n')
        elif n % 20 == 5:
            case.append('      <failure message="AssertionError: expected 1 &lt; 2" '
                        'type="AssertionError"><![CDATA[Traceback (most recent call last):\n')
            for f in range(12):
                case.append(f'  File "/src/pkg/module{suite}/deep/path/file_{f}.py", line '
                            f'{f * 17 + 3}, in function_{f}\n    result = compute(<arg>, &ctx)\n')
            case.append('AssertionError: expected 1 < 2]]></failure>\n')
        elif n % 50 == 7:
            case.append('      <skipped message="needs the production replica"/>\n')
        case.append('      <system-out>')
        for l in range(6):
            case.append(f'2025-01-06 10:00:{l * 7:02} INFO migrating dataset sales_{l} '
                        '&lt;rows=1042&gt; &amp; verifying checksums ok\n')
        case.append('</system-out>\n    </testcase>\n')
        put(''.join(case))
        i += 1
    put('  </testsuite>\n')
    suite += 1
put('</testsuites>\n')
