/opt/lab/reaperd run
