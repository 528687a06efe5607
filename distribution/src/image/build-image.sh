#!/usr/bin/env bash
# Builds the taskevents runtime image: a jlink runtime of the JDK modules taskevents needs, the
# project modules and their dependencies on a module path beside it (app/; lib/ is the runtime's own), and bin/taskevents.
#
# Why app/ and not all inside the image: jlink links only explicit modules, and Flyway, the
# PostgreSQL, MySQL and H2 drivers, r2dbc-spi and reactive-streams are automatic modules (no
# module-info). Modules that require them (storage-jdbc, and so the command) cannot be linked
# either; they run from the module path of the image's own java, which needs no JDK installed.
set -euo pipefail
java_home=$1 target=$2 jar=$3
image=$target/taskevents
rm -rf "$image"
"$java_home/bin/jlink" \
  --add-modules java.base,java.sql,java.naming,java.management,jdk.management,jdk.jfr,java.logging,java.xml,java.transaction.xa,java.net.http,jdk.unsupported,jdk.crypto.ec,java.security.jgss,java.security.sasl,jdk.net,jdk.zipfs,jdk.localedata \
  --strip-debug --no-header-files --no-man-pages --compress zip-6 \
  --output "$image"
mkdir -p "$image/app"
cp "$target"/image-lib/*.jar "$jar" "$image/app/"
cat > "$image/bin/taskevents" <<'LAUNCHER'
#!/bin/sh
# taskevents launcher: runs the command on this image's own java; no JDK, JAVA_HOME or PATH needed
# (shell built-ins only).
case $0 in */*) bin=${0%/*} ;; *) bin=. ;; esac
here=$(cd "$bin/.." && pwd)
exec "$here/bin/java" ${TASKEVENTS_JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED \
  --module-path "$here/app" -m dev.taskevents.cli/dev.taskevents.cli.Main "$@"
LAUNCHER
chmod +x "$image/bin/taskevents"
echo "runtime image: $image ($(du -sh "$image" | cut -f1))"
