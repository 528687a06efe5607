# Sourced by ./mvnw (POSIX sh). taskevents compiles with --release 21, and Maven's own JVM runs
# the jar tool, jlink and other plugins that must read release-21 class files, so Maven itself has
# to run on a JDK 21 or newer. This keeps JAVA_HOME (or the java on PATH) when it is 21+, and
# otherwise picks the newest JDK 21+ from the usual install folders. With none, it says what to
# install and stops.

taskevents_jdk_major() { # $1: a JDK home; prints its major version, or nothing
  if [ -r "$1/release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release"
  fi
}

taskevents_is_jdk21() { # $1: a JDK home
  [ -x "$1/bin/javac" ] && [ -x "$1/bin/java" ] || return 1
  major=$(taskevents_jdk_major "$1")
  [ -n "$major" ] && [ "$major" -ge 21 ]
}

taskevents_select_jdk() {
  if [ -n "${JAVA_HOME-}" ] && taskevents_is_jdk21 "$JAVA_HOME"; then
    return 0
  fi
  if [ -z "${JAVA_HOME-}" ] && command -v javac >/dev/null 2>&1; then
    path_jdk=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    if taskevents_is_jdk21 "$path_jdk"; then
      JAVA_HOME=$path_jdk
      export JAVA_HOME
      return 0
    fi
  fi
  best=""
  best_major=0
  case $- in *f*) glob_was_off=1 ;; *) glob_was_off=0 ;; esac
  set +f # mvnw runs with globbing off; the search needs it, and the caller's setting comes back after
  for candidate in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
    "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$candidate" ] || continue
    if taskevents_is_jdk21 "$candidate"; then
      major=$(taskevents_jdk_major "$candidate")
      if [ "$major" -gt "$best_major" ]; then
        best=$candidate
        best_major=$major
      fi
    fi
  done
  if [ "$glob_was_off" = 1 ]; then set -f; fi
  if [ -z "$best" ]; then
    echo "taskevents needs a JDK 21 or newer to build, and found none: JAVA_HOME is '${JAVA_HOME-}'," >&2
    echo "the javac on PATH is not 21+, and /usr/lib/jvm, /usr/java, /opt/java, ~/.sdkman, ~/.jdks hold none." >&2
    echo "Install one (e.g. 'apt-get install openjdk-21-jdk-headless', or Temurin 21/25) or set JAVA_HOME to it." >&2
    exit 1
  fi
  if [ -n "${JAVA_HOME-}" ]; then
    echo "mvnw: JAVA_HOME ($JAVA_HOME) is not a JDK 21+; using $best" >&2
  fi
  JAVA_HOME=$best
  export JAVA_HOME
}

taskevents_select_jdk
