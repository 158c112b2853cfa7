# Builds reaperd.toml(5) from the documented default config and a roff template, so the man
# page lists every section and key with the same text, default and range as the file itself.
# Usage: awk -v version=X -f toml_to_man.awk reaperd.toml reaperd.toml.5.in > reaperd.toml.5
# In the config: "# text" lines before a key describe it; "#   indented" lines and lines
# between "BEGIN EXAMPLE" and "END EXAMPLE" are kept as they are (no filling); a comment
# block followed by a blank line or a table header is a paragraph of its own; the comments
# before the first table are the file's preamble, which the template replaces.
# In the template: @VERSION@ is replaced, and the line @KEYS@ by the generated text.

# Escapes text for roff: backslashes, minus signs and quotes stay copyable; a leading dot or
# quote would be read as a request.
function esc(s) {
  gsub(/\\/, "\\e", s)
  gsub(/-/, "\\-", s)
  gsub(/`/, "\\(ga", s)
  gsub(/'/, "\\(aq", s)
  if (s ~ /^[.']/ || s ~ /^\\\(aq/) s = "\\&" s
  return s
}

function emit(s) { out = out s "\n" }

# Prints the buffered comment lines: filled text, with indented and example lines unfilled.
function flush(standalone,    i, line, pre, want) {
  if (nbuf == 0) return
  # A block that documents an array of tables ("Rules: [[rule]] blocks ...") heads its own
  # subsection, so [[rule]] does not read as part of the table above it.
  if (standalone && match(buf[1], /\[\[[a-z.]+\]\] blocks/))
    emit(".SS \"" esc(substr(buf[1], RSTART, RLENGTH - 7)) "\"")
  if (standalone) emit(".PP")
  pre = 0
  for (i = 1; i <= nbuf; i++) {
    line = buf[i]
    if (line ~ /^BEGIN EXAMPLE/) { example = 1; continue }
    if (line ~ /^END EXAMPLE/) { example = 0; continue }
    want = example || line ~ /^  /
    if (want && !pre) { emit(".RS 2"); emit(".nf"); pre = 1 }
    if (!want && pre) { emit(".fi"); emit(".RE"); pre = 0 }
    if (line == "") emit(".sp")
    else emit(esc(line))
  }
  if (pre) { emit(".fi"); emit(".RE") }
  nbuf = 0
}

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

FNR == NR {
  if (multiline) {  # continuation of an array value
    value = value " " trim($0)
    if (trim($0) ~ /^\]/) { multiline = 0; key_done() }
    next
  }
  if ($0 ~ /^#/) {
    line = $0
    sub(/^# ?/, "", line)
    buf[++nbuf] = line
    next
  }
  if ($0 ~ /^[ \t]*$/) {
    if (in_table) flush(1)
    else nbuf = 0
    next
  }
  if ($0 ~ /^\[/) {
    if (in_table) flush(1)
    nbuf = 0
    in_table = 1
    emit(".SS \"" esc(trim($0)) "\"")
    next
  }
  # A key line: key = value (a value opening an array may continue on the next lines).
  eq = index($0, "=")
  key = trim(substr($0, 1, eq - 1))
  value = trim(substr($0, eq + 1))
  keys++
  if (value ~ /^\[/ && value !~ /\]$/) { multiline = 1; next }
  key_done()
  next
}

function key_done() {
  sub(/\[ /, "[", value)
  sub(/,? \]$/, "]", value)
  emit(".TP")
  emit("\\fB" esc(key) "\\fR = " esc(value))
  flush(0)
}

# The template.
{
  if ($0 == "@KEYS@") {
    if (keys == 0) { print "toml_to_man.awk: no keys found" > "/dev/stderr"; exit 1 }
    printf "%s", out
    next
  }
  gsub(/@VERSION@/, version)
  print
}
