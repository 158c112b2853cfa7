/usr/bin/earlyoom -r 3600
