# Turns packaging/config/reaperd.toml (the built-in default) into the installed
# /etc/reaperd/reaperd.toml: every key line, and every continuation line of a multi-line
# value, gets "# " in front, so the file documents every key and its default while setting
# none. Table headers stay, so a key can be uncommented where it stands.
# Usage: awk -f comment_keys.awk reaperd.toml > reaperd.toml.installed
BEGIN {
  print "# Installed by reaperd. Every key below is commented out: a commented key takes its"
  print "# built-in default (the value shown). To change a setting, remove the \"# \" in front of"
  print "# its line (and of every line of its value), edit it, then check the file with"
  print "# `reaperd check-config /etc/reaperd/reaperd.toml` and reload with"
  print "# `systemctl reload reaperd`. See reaperd.toml(5)."
  print "#"
}
/^[ \t]*$/ { print; next }   # blank
/^#/ { print; next }         # already a comment
/^\[/ { print; next }        # [table] or [[array.of.tables]] header
{ print "# " $0 }            # a key line or a continuation of a value
