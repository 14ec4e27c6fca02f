#!/usr/bin/env bash
# Install the Storm toolchain Shoot2Top's topologies run on:
#   - a JDK >= STORM_JAVA_MIN (selected among the installed ones, not downloaded),
#   - Leiningen from Debian's packages (apt-get),
#   - Apache Storm from Maven Central, unpacked under .tools/ (gitignored).
# Versions come from storm.versions at the repository root (the only place they
# are pinned).  Idempotent: a second run checks the stamp and changes nothing.
#
# Usage:
#   scripts/install-storm.sh            install (or check) everything
#   scripts/install-storm.sh --env      install, then print `export ...` lines for
#                                       eval: JAVA_HOME, STORM_HOME, PATH
#                                       (e.g. eval "$(scripts/install-storm.sh --env)")
# Environment:
#   SHOOT2TOP_TOOLS_DIR   install somewhere else than <repo>/.tools
#   STORM_MVN_ARGS        extra arguments for every mvn call (e.g. -o)
#
# Nothing outside the checkout is read or written (~/.m2, ~/.lein, ~/.storm): the
# Maven repository that mvn fills and Leiningen builds topologies from is
# .tools/m2 (project.clj points `:local-repo` there and builds offline), Leiningen's
# home is .tools/lein, and the Storm launcher reads no ~/.storm.  At install time the
# whole dependency tree of every build `sparse run`/`sparse submit` does (`lein deps
# :tree`, `lein jar`, `lein uberjar`) is resolved online, then checked offline, so a
# missing artifact fails here, naming it, never later inside a test.  A manifest of
# every file the Storm home and the Maven repository must hold is written with the
# stamp; a re-run checks each file is still there and repairs what is missing.
#
# Produces, under .tools/: apache-storm-VERSION/ (the Storm home), m2/ (the Maven
# repository), lein/ (LEIN_HOME), bin/storm
# (the `storm` to put on PATH: the Storm home's bin/storm plus the fix that makes
# streamparse 5.0.1's `sparse run` work on Storm 2+, see the file), env.sh (source
# it: JAVA_HOME, STORM_HOME, PATH, LEIN_HOME, SHOOT2TOP_MAVEN_REPO, LEIN_ROOT for
# root), .gitignore.  In the Maven repository: everything project.clj needs and, when
# the remote repository does not serve it, a stand-in for flux-core's parent POM.
#
# The Maven repository used is whatever this machine's mvn is configured with
# (settings.xml, mirrors); nothing here names a registry host.
#
# When the binary distribution (STORM_DIST_ARTIFACT, tar.gz) does not resolve,
# the Storm home is laid out the way the distribution lays it out, from the
# ordinary artifacts: lib/ = storm-core and its dependencies, lib-worker/ =
# storm-client and its dependencies, external/flux/ = flux-core, log4j2/, conf/,
# and a generated bin/storm launcher (the distribution's bin/storm.py is not
# published to any package registry).  The daemons and the client are Storm's own
# classes; the launcher only builds their java command lines as storm.py does.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../storm.versions
. "$ROOT/storm.versions"

TOOLS="${SHOOT2TOP_TOOLS_DIR:-$ROOT/$STORM_TOOLS_DIR}"
STORM_HOME_DIR="$TOOLS/apache-storm-$STORM_VERSION"
MAVEN_REPO="$TOOLS/m2"
LEIN_HOME_DIR="$TOOLS/lein"
STAMP="$STORM_HOME_DIR/.shoot2top-install"
HOME_MANIFEST="$STORM_HOME_DIR/.shoot2top-manifest"
REPO_STAMP="$MAVEN_REPO/.shoot2top-build"
REPO_MANIFEST="$MAVEN_REPO/.shoot2top-manifest"
# What the stamp records: the inputs that decide which jars are in the Storm home.
STAMP_WANT="layout=3 version=$STORM_VERSION dist=$STORM_DIST_ARTIFACT lib=$STORM_LIB_ARTIFACT excl=$STORM_LIB_EXCLUSIONS client=$STORM_CLIENT_ARTIFACT flux=$STORM_FLUX_ARTIFACT"

PRINT_ENV=0
case "${1:-}" in
    --env) PRINT_ENV=1 ;;
    "") ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "usage: $0 [--env]" >&2; exit 2 ;;
esac

log() { echo "install-storm: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# Write $2 (content) to $1 only when it differs, so re-runs change nothing.
write_if_changed() {
    local path="$1" content="$2" mode="${3:-644}"
    if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then
        return 0
    fi
    mkdir -p "$(dirname "$path")"
    printf '%s\n' "$content" > "$path.tmp.$$"
    chmod "$mode" "$path.tmp.$$"
    mv -f "$path.tmp.$$" "$path"
}

# ---------------------------------------------------------------- apt-get
apt_install() {
    local pkg="$1"
    # Refresh the package lists first only when apt does not know the package.
    local policy
    policy="$(apt-cache policy "$pkg" 2>/dev/null || true)"
    if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
        log "apt-get update (package lists do not know $pkg)"
        $SUDO apt-get update -q >&2
    fi
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$pkg" >&2; then
        # Stale lists (404 on a superseded .deb): refresh once and retry.
        log "apt-get install $pkg failed; apt-get update and retry"
        $SUDO apt-get update -q >&2
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$pkg" >&2
    fi
}

# ---------------------------------------------------------------- JDK
java_major() {
    # Prints the major version of the JDK at $1 (nothing if there is none).
    [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
    "$1/bin/java" -version 2>&1 | awk -F'"' '/version "/ && !done {
        split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); done = 1 }' || true
}

select_jdk() {
    local min="$1" cand major seen=" "
    # shellcheck disable=SC2086  # STORM_JDK_SEARCH holds globs on purpose
    for cand in ${STORM_JAVA_HOME:-} ${JAVA_HOME:-} $STORM_JDK_SEARCH; do
        [ -d "$cand" ] || continue
        cand="$(cd "$cand" && pwd -P)"
        case "$seen" in *" $cand "*) continue ;; esac
        seen="$seen$cand "
        major="$(java_major "$cand")"
        if [ -n "$major" ] && [ "$major" -ge "$min" ]; then
            echo "$cand"
            return 0
        fi
    done
    return 1
}

JDK="$(select_jdk "$STORM_JAVA_MIN" || true)"
if [ -z "$JDK" ] && [ -z "$(select_jdk "$STORM_JAVA_FLOOR" || true)" ]; then
    # No JDK at all (Storm and Spark both need one): Debian's default is >= the floor.
    log "no JDK found; installing $JDK_DEB_PACKAGE from Debian's packages"
    apt_install "$JDK_DEB_PACKAGE"
fi
if [ -z "$JDK" ]; then
    JDK="$(select_jdk "$STORM_JAVA_FLOOR" || true)"
    [ -n "$JDK" ] || die "no JDK >= $STORM_JAVA_FLOOR found (searched: ${STORM_JAVA_HOME:-} ${JAVA_HOME:-} $STORM_JDK_SEARCH)"
    case "$STORM_VERSION" in
        2.*) log "WARNING: no JDK >= $STORM_JAVA_MIN found; using $JDK (Storm $STORM_VERSION runs on $STORM_JAVA_FLOOR+)" ;;
        *) die "Storm $STORM_VERSION needs a JDK >= $STORM_JAVA_MIN; found only $JDK" ;;
    esac
fi
JDK_MAJOR="$(java_major "$JDK")"

# ---------------------------------------------------------------- Leiningen
if ! command -v lein >/dev/null 2>&1; then
    log "installing Leiningen ($LEIN_DEB_PACKAGE) from Debian's packages"
    apt_install "$LEIN_DEB_PACKAGE"
fi
LEIN_OUT="$(LEIN_ROOT=1 lein version </dev/null 2>/dev/null | grep -m1 '^Leiningen' || true)"
case "$LEIN_OUT" in
    "Leiningen $LEIN_VERSION_EXPECTED"*) ;;
    "") die "lein is installed but 'lein version' printed nothing" ;;
    *) log "WARNING: expected Leiningen $LEIN_VERSION_EXPECTED*, found: $LEIN_OUT" ;;
esac

# ---------------------------------------------------------------- Storm
MVN_WORK=""
cleanup() { [ -z "$MVN_WORK" ] || rm -rf "$MVN_WORK"; }
trap cleanup EXIT

mvn_q() {
    # mvn, quiet, batch, with the project's extra args; output goes to a log that
    # is shown only on failure (callers that expect failure pass --may-fail).
    local may_fail=0
    if [ "$1" = "--may-fail" ]; then may_fail=1; shift; fi
    # shellcheck disable=SC2086
    if mvn -B -q "-Dmaven.repo.local=$MAVEN_REPO" ${STORM_MVN_ARGS:-} -f "$MVN_WORK/pom.xml" "$@" \
            > "$MVN_WORK/mvn.log" 2>&1; then
        return 0
    fi
    if [ "$may_fail" -eq 0 ]; then
        grep -E '\[ERROR\]' "$MVN_WORK/mvn.log" | head -n 5 >&2 || tail -n 20 "$MVN_WORK/mvn.log" >&2
    fi
    return 1
}

# A throw-away pom whose dependencies are $@ (GROUP:ARTIFACT:VERSION each), each
# with the exclusions in $POM_EXCLUSIONS (space-separated GROUP:ARTIFACT).
POM_EXCLUSIONS=""
write_pom() {
    local dir="$1"; shift
    local deps="" gav g a v ex="" x
    for x in $POM_EXCLUSIONS; do
        ex="$ex<exclusion><groupId>${x%%:*}</groupId><artifactId>${x#*:}</artifactId></exclusion>"
    done
    for gav in "$@"; do
        IFS=: read -r g a v <<<"$gav"
        deps="$deps<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version><exclusions>$ex</exclusions></dependency>"
    done
    mkdir -p "$dir"
    cat > "$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.shoot2top</groupId><artifactId>storm-install</artifactId><version>0</version>
  <packaging>pom</packaging>
  <dependencies>$deps</dependencies>
</project>
EOF
}

# Stand-in for org.apache.storm:flux:$STORM_VERSION (flux-core's parent POM), only
# when the repository does not serve it.  Same coordinates, parent and
# dependencies as upstream's flux/pom.xml.
ensure_flux_parent() {
    if mvn_q --may-fail "$MVN_DEPENDENCY_PLUGIN:get" -Dartifact="org.apache.storm:flux:$STORM_VERSION:pom" -Dtransitive=false; then
        return 0
    fi
    [ "$STORM_FLUX_PARENT_STANDIN" = 1 ] || die "org.apache.storm:flux:$STORM_VERSION:pom does not resolve"
    log "flux-core's parent POM is not served: installing a stand-in into the local Maven repository"
    cat > "$MVN_WORK/flux-parent.pom" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Stand-in written by Shoot2Top's scripts/install-storm.sh: the Maven repository
     this machine reaches does not serve org.apache.storm:flux:$STORM_VERSION.
     Same parent and dependencies as Apache Storm's flux/pom.xml. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.apache.storm</groupId><artifactId>storm</artifactId><version>$STORM_VERSION</version>
    <relativePath/>
  </parent>
  <artifactId>flux</artifactId>
  <packaging>pom</packaging>
  <name>flux</name>
  <dependencies>
    <dependency>
      <groupId>org.apache.storm</groupId><artifactId>storm-client</artifactId>
      <version>\${project.version}</version><scope>\${provided.scope}</scope>
    </dependency>
    <dependency>
      <groupId>commons-cli</groupId><artifactId>commons-cli</artifactId>
      <version>\${commons-cli.version}</version>
    </dependency>
  </dependencies>
</project>
EOF
    mvn_q "$MVN_INSTALL_PLUGIN:install-file" -Dfile="$MVN_WORK/flux-parent.pom" -DpomFile="$MVN_WORK/flux-parent.pom" \
        || die "could not install the flux parent stand-in"
}

copy_closure() {
    # copy_closure DEST GAV...: the artifacts and all their runtime dependencies.
    local dest="$1"; shift
    write_pom "$MVN_WORK/closure" "$@"
    # shellcheck disable=SC2086
    mvn -B -q "-Dmaven.repo.local=$MAVEN_REPO" ${STORM_MVN_ARGS:-} -f "$MVN_WORK/closure/pom.xml" \
        "$MVN_DEPENDENCY_PLUGIN:copy-dependencies" \
        -DincludeScope=runtime -DoutputDirectory="$dest" > "$MVN_WORK/mvn.log" 2>&1 \
        || { grep -E '\[ERROR\]' "$MVN_WORK/mvn.log" | head -n 5 >&2; die "could not resolve $*"; }
}

install_storm_jars() {
    local stage="$1" g a
    MVN_WORK="$(mktemp -d "${TMPDIR:-/tmp}/install-storm.XXXXXX")"
    write_pom "$MVN_WORK"
    command -v mvn >/dev/null 2>&1 || { log "installing maven"; apt_install maven; }

    IFS=: read -r g a <<<"$STORM_DIST_ARTIFACT"
    log "trying the binary distribution $g:$a:$STORM_VERSION:tar.gz"
    if mvn_q --may-fail "$MVN_DEPENDENCY_PLUGIN:copy" -Dartifact="$g:$a:$STORM_VERSION:tar.gz" \
            -DoutputDirectory="$MVN_WORK/dist"; then
        log "unpacking $(ls "$MVN_WORK"/dist/*.tar.gz)"
        mkdir -p "$MVN_WORK/unpack"
        tar -xzf "$MVN_WORK"/dist/*.tar.gz -C "$MVN_WORK/unpack"
        local top
        top="$(find "$MVN_WORK/unpack" -mindepth 1 -maxdepth 1 -type d | head -n1)"
        [ -x "$top/bin/storm" ] || die "the distribution has no bin/storm"
        mv "$top" "$stage"
        echo dist > "$stage/.shoot2top-layout"
    else
        log "not served: $g:$a:$STORM_VERSION:tar.gz; laying out a Storm home from the Storm artifacts"
        mkdir -p "$stage"/{lib,lib-worker,extlib,extlib-daemon,external/flux,bin,conf,log4j2}
        POM_EXCLUSIONS="$STORM_LIB_EXCLUSIONS" copy_closure "$stage/lib" "$STORM_LIB_ARTIFACT:$STORM_VERSION"
        copy_closure "$stage/lib-worker" "$STORM_CLIENT_ARTIFACT:$STORM_VERSION"
        # lib-worker/ is a subset of lib/: hard-link the identical jars.
        local f
        for f in "$stage"/lib-worker/*.jar; do
            if cmp -s "$f" "$stage/lib/${f##*/}"; then ln -f "$stage/lib/${f##*/}" "$f"; fi
        done
        echo artifacts > "$stage/.shoot2top-layout"
        echo "$STORM_VERSION" > "$stage/RELEASE"
    fi
    # flux-core for topology uberjars (lein/mvn resolve it from the local Maven
    # repository) and, as a jar, for `storm jar --jars` style use.
    ensure_flux "$stage/external/flux"
}

ensure_flux() {   # ensure_flux DEST: flux-core (and its parent POM) in the local Maven repository, a copy in DEST
    [ -n "$MVN_WORK" ] || { MVN_WORK="$(mktemp -d "${TMPDIR:-/tmp}/install-storm.XXXXXX")"; write_pom "$MVN_WORK"; }
    ensure_flux_parent
    mvn_q "$MVN_DEPENDENCY_PLUGIN:copy" -Dartifact="$STORM_FLUX_ARTIFACT:$STORM_VERSION" \
        -DoutputDirectory="$1" || die "could not resolve $STORM_FLUX_ARTIFACT:$STORM_VERSION"
}

# A manifest lists every file an install promises (path and size), so that a re-run
# trusts a stamp only while what it stands for is still there.
write_manifest() {   # write_manifest DIR FILE: the jars and POMs under DIR
    (cd "$1" && find . -type f \( -name '*.jar' -o -name '*.pom' \) -printf '%s %P\n' \
        | LC_ALL=C sort -k2) > "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
}

manifest_holds() {   # manifest_holds DIR FILE: every listed file exists with its size
    local size path
    [ -s "$2" ] || return 1
    while read -r size path; do
        [ -f "$1/$path" ] && [ "$(stat -c %s "$1/$path")" = "$size" ] || {
            log "missing or changed since the install: $1/$path"
            return 1
        }
    done < "$2"
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_WANT" ] \
        && manifest_holds "$STORM_HOME_DIR" "$HOME_MANIFEST"; then
    FRESH=0
else
    [ ! -f "$STAMP" ] || log "the Storm home in $STORM_HOME_DIR is incomplete or out of date: installing it again"
    FRESH=1
    t0=$(date +%s)
    log "installing Apache Storm $STORM_VERSION into $STORM_HOME_DIR"
    mkdir -p "$TOOLS"
    stage="$TOOLS/.apache-storm-$STORM_VERSION.partial"
    rm -rf "$stage"
    install_storm_jars "$stage"
    rm -rf "$STORM_HOME_DIR"
    mv "$stage" "$STORM_HOME_DIR"
    log "Storm jars installed in $(( $(date +%s) - t0 ))s ($(du -sh "$STORM_HOME_DIR" | cut -f1))"
fi

write_if_changed "$TOOLS/.gitignore" "*"
LAYOUT="$(cat "$STORM_HOME_DIR/.shoot2top-layout")"

# ---- files generated for the artifact layout (rewritten only when they differ)
if [ "$LAYOUT" = artifacts ]; then

write_if_changed "$STORM_HOME_DIR/log4j2/cluster.xml" '<?xml version="1.0" encoding="UTF-8"?>
<!-- Daemon logging (nimbus, supervisor, dev-zookeeper); generated by install-storm.sh -->
<configuration monitorInterval="60" shutdownHook="disable">
  <properties>
    <property name="pattern">%d{yyyy-MM-dd HH:mm:ss.SSS} %c{1.} %t [%p] %msg%n</property>
  </properties>
  <appenders>
    <RollingFile name="A1" fileName="${sys:storm.log.dir}/${sys:logfile.name}"
                 filePattern="${sys:storm.log.dir}/${sys:logfile.name}.%i.gz">
      <PatternLayout charset="UTF-8"><pattern>${pattern}</pattern></PatternLayout>
      <Policies><SizeBasedTriggeringPolicy size="100 MB"/></Policies>
      <DefaultRolloverStrategy max="9"/>
    </RollingFile>
  </appenders>
  <loggers>
    <root level="info"><appender-ref ref="A1"/></root>
  </loggers>
</configuration>'

write_if_changed "$STORM_HOME_DIR/log4j2/worker.xml" '<?xml version="1.0" encoding="UTF-8"?>
<!-- Worker logging (cluster mode); generated by install-storm.sh -->
<configuration monitorInterval="60" shutdownHook="disable">
  <properties>
    <property name="dir">${sys:workers.artifacts}/${sys:storm.id}/${sys:worker.port}</property>
    <property name="pattern">%d{yyyy-MM-dd HH:mm:ss.SSS} %c{1.} %t [%p] %msg%n</property>
  </properties>
  <appenders>
    <RollingFile name="A1" fileName="${dir}/${sys:logfile.name}" filePattern="${dir}/${sys:logfile.name}.%i.gz">
      <PatternLayout charset="UTF-8"><pattern>${pattern}</pattern></PatternLayout>
      <Policies><SizeBasedTriggeringPolicy size="100 MB"/></Policies>
      <DefaultRolloverStrategy max="9"/>
    </RollingFile>
    <RollingFile name="STDOUT" fileName="${dir}/${sys:logfile.name}.out" filePattern="${dir}/${sys:logfile.name}.out.%i.gz">
      <PatternLayout><pattern>%msg%n</pattern></PatternLayout>
      <Policies><SizeBasedTriggeringPolicy size="100 MB"/></Policies>
      <DefaultRolloverStrategy max="4"/>
    </RollingFile>
    <RollingFile name="STDERR" fileName="${dir}/${sys:logfile.name}.err" filePattern="${dir}/${sys:logfile.name}.err.%i.gz">
      <PatternLayout><pattern>%msg%n</pattern></PatternLayout>
      <Policies><SizeBasedTriggeringPolicy size="100 MB"/></Policies>
      <DefaultRolloverStrategy max="4"/>
    </RollingFile>
  </appenders>
  <loggers>
    <root level="info"><appender-ref ref="A1"/></root>
    <Logger name="STDERR" level="INFO"><appender-ref ref="STDERR"/></Logger>
    <Logger name="STDOUT" level="INFO"><appender-ref ref="STDOUT"/></Logger>
  </loggers>
</configuration>'

# Loopback defaults.  Override per run with STORM_CONF_DIR (a directory with a
# storm.yaml) or `-c key=value`.
if [ ! -f "$STORM_HOME_DIR/conf/storm.yaml" ]; then
    write_if_changed "$STORM_HOME_DIR/conf/storm.yaml" '# Single-node Storm on loopback; generated by install-storm.sh (kept if edited).
storm.zookeeper.servers:
  - "127.0.0.1"
nimbus.seeds: ["127.0.0.1"]
storm.local.hostname: "127.0.0.1"
supervisor.slots.ports: [6700, 6701]'
fi

write_if_changed "$STORM_HOME_DIR/bin/storm" '#!/usr/bin/env bash
# Storm command-line launcher for a Storm home laid out from Storm'"'"'s Maven
# artifacts (generated by Shoot2Top'"'"'s scripts/install-storm.sh).  It builds the same
# java command lines as the distribution'"'"'s bin/storm.py for the commands below.
#
# The streamparse fix (storm jar ... Flux --local -> storm local) is not here but
# in the `storm` that install-storm.sh puts in .tools/bin, in front of this one.
#
# Environment: STORM_JAVA_HOME (JDK; default: the one install-storm.sh selected),
# STORM_CONF_DIR (directory with storm.yaml), STORM_LOG_DIR, STORM_QUIET=1 (do not
# echo the java command), STORM_JAR_JVM_OPTS (extra JVM options for jar/local),
# STORM_NIMBUS_CHILDOPTS / STORM_SUPERVISOR_CHILDOPTS (daemon JVM options).
set -euo pipefail
STORM_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
if [ -n "${STORM_JAVA_HOME:-}" ]; then JAVA_HOME="$STORM_JAVA_HOME"
elif [ -f "$STORM_HOME/conf/java_home" ]; then JAVA_HOME="$(cat "$STORM_HOME/conf/java_home")"
fi
export JAVA_HOME   # the supervisor starts workers with $JAVA_HOME/bin/java
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
CONF_DIR="${STORM_CONF_DIR:-$STORM_HOME/conf}"
# storm.py also reads ~/.storm/storm.yaml; this launcher reads only STORM_CONF_DIR (or
# the Storm home'"'"'s conf/), so nothing a machine accumulated changes a run.
USER_CONF_DIR="$CONF_DIR"
LOG_DIR="${STORM_LOG_DIR:-}"
if [ -z "$LOG_DIR" ] && [ -f "$CONF_DIR/storm.yaml" ]; then
    LOG_DIR="$(sed -n "s/^storm\.log\.dir:[[:space:]]*[\"'"'"']\{0,1\}\([^\"'"'"']*\).*/\1/p" "$CONF_DIR/storm.yaml" | head -n1)"
fi
LOG_DIR="${LOG_DIR:-$STORM_HOME/logs}"
LOG4J2_DIR="${STORM_LOG4J2_CONF_DIR:-$STORM_HOME/log4j2}"

die() { echo "storm: $*" >&2; exit 1; }

urlencode() {   # like python quote_plus
    local LC_ALL=C s="$1" out="" c i
    for (( i = 0; i < ${#s}; i++ )); do
        c="${s:i:1}"
        case "$c" in
            [a-zA-Z0-9_.~-]) out+="$c" ;;
            " ") out+="+" ;;
            *) out+="$(printf "%%%02X" "'"'"'$c")" ;;
        esac
    done
    printf "%s" "$out"
}

classpath() {   # classpath MODE(daemon|client|plain) EXTRA...
    local mode="$1"; shift
    local cp="$STORM_HOME/*"
    if [ "$mode" = client ]; then cp+=":$STORM_HOME/lib-worker/*"; else cp+=":$STORM_HOME/lib/*"; fi
    cp+=":$STORM_HOME/extlib/*"
    [ "$mode" != daemon ] || cp+=":$STORM_HOME/extlib-daemon/*"
    [ -z "${STORM_EXT_CLASSPATH:-}" ] || cp+=":$STORM_EXT_CLASSPATH"
    [ "$mode" != daemon ] || [ -z "${STORM_EXT_CLASSPATH_DAEMON:-}" ] || cp+=":$STORM_EXT_CLASSPATH_DAEMON"
    local e
    for e in "$@"; do [ -z "$e" ] || cp+=":$e"; done
    printf "%s" "$cp"
}

CONFIG_OPTS=()   # -c key=value
CONF_FILE=""     # --config FILE
storm_options() {
    local opts="" o
    for o in "${CONFIG_OPTS[@]+"${CONFIG_OPTS[@]}"}"; do opts+="${opts:+,}$(urlencode "$o")"; done
    printf "%s" "-Dstorm.options=$opts"
}

# exec_class CLASS JVMTYPE DAEMON_NAME CP_MODE "EXTRA_CP" JVMOPTS... -- ARGS...
exec_class() {
    local klass="$1" jvmtype="$2" dname="$3" mode="$4" extra="$5"; shift 5
    local jvmopts=() args=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do jvmopts+=("$1"); shift; done
    [ $# -eq 0 ] || shift
    args=("$@")
    local IFS=:
    # shellcheck disable=SC2086
    set -- $extra
    unset IFS
    local cmd=("$JAVA" "$jvmtype" "-Ddaemon.name=$dname" "$(storm_options)"
        "-Dstorm.home=$STORM_HOME" "-Dstorm.log.dir=$LOG_DIR"
        "-Djava.library.path=${STORM_JAVA_LIBRARY_PATH:-/usr/local/lib:/opt/local/lib:/usr/lib:/usr/lib64}"
        "-Dstorm.conf.file=$CONF_FILE" -cp "$(classpath "$mode" "$@")"
        "${jvmopts[@]+"${jvmopts[@]}"}" "$klass" "${args[@]+"${args[@]}"}")
    [ -n "${STORM_QUIET:-}" ] || echo "Running: ${cmd[*]}" >&2
    exec "${cmd[@]}"
}

daemon() {   # daemon NAME CLASS LOGFILE DEFAULT_CHILDOPTS CHILDOPTS_ENV
    local name="$1" klass="$2" logfile="$3" childopts="$4"
    mkdir -p "$LOG_DIR"
    # shellcheck disable=SC2086
    exec_class "$klass" -server "$name" daemon "$CONF_DIR" $childopts \
        -Djava.deserialization.disabled=true "-Dlogfile.name=$logfile" \
        "-Dlog4j.configurationFile=$LOG4J2_DIR/cluster.xml" -- "${REST[@]+"${REST[@]}"}"
}

[ $# -gt 0 ] || die "usage: storm COMMAND [ARGS]  (version, local, jar, kill, list, activate, deactivate, rebalance, get-errors, set_log_level, monitor, nimbus, supervisor, dev-zookeeper, classpath, server_classpath, localconfvalue, remoteconfvalue)"
COMMAND="$1"; shift

# Common options (-c key=value, --config FILE) are taken anywhere, as storm.py does.
REST=()
JARS="" LOCAL_TTL=20 JAVA_DEBUG="" LOCAL_ZK="" SERVER_CP=0
while [ $# -gt 0 ]; do
    case "$1" in
        -c|-storm_config_opts) [ $# -ge 2 ] || die "$1 needs key=value"; CONFIG_OPTS+=("$2"); shift 2 ;;
        --config) [ $# -ge 2 ] || die "--config needs a file"; CONF_FILE="$2"; shift 2 ;;
        --jars) JARS="$2"; shift 2 ;;
        --local-ttl) [ "$COMMAND" = local ] || { REST+=("$1"); shift; continue; }; LOCAL_TTL="$2"; shift 2 ;;
        --java-debug) [ "$COMMAND" = local ] || { REST+=("$1"); shift; continue; }; JAVA_DEBUG="$2"; shift 2 ;;
        --local-zookeeper) [ "$COMMAND" = local ] || { REST+=("$1"); shift; continue; }; LOCAL_ZK="$2"; shift 2 ;;
        --storm-server-classpath) [ "$COMMAND" = jar ] || { REST+=("$1"); shift; continue; }; SERVER_CP=1; shift ;;
        --artifacts|--artifactRepositories|--mavenLocalRepositoryDirectory|--proxyUrl|--proxyUsername|--proxyPassword)
            die "$1 is not supported by this launcher (no storm-submit-tools); build an uberjar or use --jars" ;;
        *) REST+=("$1"); shift ;;
    esac
done

client_command() {   # client_command CLASS: client tools on the daemon classpath, like storm.py
    exec_class "$1" -client "" daemon "$USER_CONF_DIR:$STORM_HOME/bin" -- "${REST[@]+"${REST[@]}"}"
}

run_jar() {   # run_jar local|jar
    local how="$1"
    [ ${#REST[@]} -ge 2 ] || die "usage: storm $how [options] TOPOLOGY-JAR MAIN-CLASS [ARGS]"
    local jar="${REST[0]}" klass="${REST[1]}" mode=client main
    [ -f "$jar" ] || die "no such jar: $jar"
    local args=("${REST[@]:2}")
    local jvmopts=(${STORM_JAR_JVM_OPTS:-})
    jvmopts+=("-Dstorm.jar=$jar" "-Dstorm.dependency.jars=$JARS" "-Dstorm.dependency.artifacts={}")
    if [ "$how" = local ]; then
        mode=plain
        jvmopts+=("-Dstorm.local.sleeptime=$LOCAL_TTL")
        [ -z "$JAVA_DEBUG" ] || jvmopts+=("-agentlib:jdwp=$JAVA_DEBUG")
        [ -z "$LOCAL_ZK" ] || jvmopts+=("-Dstorm.local.zookeeper=$LOCAL_ZK")
        args=("$klass" "${args[@]+"${args[@]}"}")
        main=org.apache.storm.LocalCluster
    else
        [ "$SERVER_CP" = 0 ] || mode=daemon
        main="$klass"
    fi
    exec_class "$main" -client "" "$mode" "$jar:$USER_CONF_DIR:$STORM_HOME/bin:${JARS//,/:}" \
        "${jvmopts[@]}" -- "${args[@]+"${args[@]}"}"
}

case "$COMMAND" in
    version) exec_class org.apache.storm.utils.VersionInfo -client "" daemon "$CONF_DIR" -- ;;
    local) run_jar local ;;
    jar) run_jar jar ;;
    kill) client_command org.apache.storm.command.KillTopology ;;
    list) client_command org.apache.storm.command.ListTopologies ;;
    activate) client_command org.apache.storm.command.Activate ;;
    deactivate) client_command org.apache.storm.command.Deactivate ;;
    rebalance) client_command org.apache.storm.command.Rebalance ;;
    get-errors) client_command org.apache.storm.command.GetErrors ;;
    set_log_level) client_command org.apache.storm.command.SetLogLevel ;;
    monitor) client_command org.apache.storm.command.Monitor ;;
    heartbeats) client_command org.apache.storm.command.Heartbeats ;;
    blobstore) client_command org.apache.storm.command.Blobstore ;;
    upload-credentials) client_command org.apache.storm.command.UploadCredentials ;;
    admin) client_command org.apache.storm.command.AdminCommands ;;
    kill_workers) client_command org.apache.storm.command.KillWorkers ;;
    localconfvalue) exec_class org.apache.storm.command.ConfigValue -client "" daemon "$CONF_DIR" -- "${REST[@]+"${REST[@]}"}" ;;
    remoteconfvalue) client_command org.apache.storm.command.RemoteConfigValue ;;
    nimbus) daemon nimbus org.apache.storm.daemon.nimbus.Nimbus nimbus.log "${STORM_NIMBUS_CHILDOPTS:--Xmx1024m}" ;;
    supervisor) daemon supervisor org.apache.storm.daemon.supervisor.Supervisor "${STORM_SUPERVISOR_LOG_FILE:-supervisor.log}" "${STORM_SUPERVISOR_CHILDOPTS:--Xmx256m}" ;;
    pacemaker) daemon pacemaker org.apache.storm.pacemaker.Pacemaker pacemaker.log "${STORM_PACEMAKER_CHILDOPTS:--Xmx1024m}" ;;
    dev-zookeeper) daemon dev_zookeeper org.apache.storm.command.DevZookeeper dev-zookeeper.log "" ;;
    classpath) classpath client; echo ;;
    server_classpath) classpath daemon; echo ;;
    ui|logviewer|drpc|drpc-client)
        die "\`storm $COMMAND\` needs storm-webapp, which the Maven repository does not serve" ;;
    help|-h|--help) sed -n "2,13p" "$0" ;;
    *) die "unknown or unsupported command: $COMMAND" ;;
esac' 755

fi  # artifact layout

write_if_changed "$STORM_HOME_DIR/conf/java_home" "$JDK"

# A stable bin/ for PATH, and an env file to source.
# .tools/bin/storm: the `storm` users and streamparse run.  It fixes what
# streamparse 5.0.1's `sparse run` executes and passes everything else through.
[ ! -L "$TOOLS/bin/storm" ] || rm -f "$TOOLS/bin/storm"
write_if_changed "$TOOLS/bin/storm" '#!/usr/bin/env bash
# `storm` for Shoot2Top (generated by scripts/install-storm.sh): runs the Storm
# installed beside it, with one fix for streamparse 5.0.1.
#
# `sparse run` executes  storm jar JAR org.apache.storm.flux.Flux --local
# --no-splash --sleep T FILE.yaml.  Since Storm 2, Flux ignores --local/--sleep
# and submits to a remote Nimbus (NimbusLeaderNotFoundException without one);
# local mode is `storm local`.  So that command runs as
#     storm local --local-ttl T JAR org.apache.storm.flux.Flux --no-splash FILE.yaml
# with T in seconds (streamparse'"'"'s -t); T <= 0 or beyond what LocalCluster can
# sleep (it sleeps T*1000 ms) runs until killed.  Other commands pass through.
#
# STORM_LOCAL_ZOOKEEPER=host:port makes every local-mode run use that ZooKeeper
# (Storm then keeps message timeouts on, which local mode otherwise turns off).
# STORM_HOME picks another Storm home; STORM_JAVA_HOME another JDK.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
STORM_HOME="${STORM_HOME:-$here/../'"apache-storm-$STORM_VERSION"'}"
real="$STORM_HOME/bin/storm"
[ -x "$real" ] || { echo "storm: no Storm at $STORM_HOME (run scripts/install-storm.sh)" >&2; exit 1; }
if [ -n "${STORM_JAVA_HOME:-}" ]; then export JAVA_HOME="$STORM_JAVA_HOME"
elif [ -f "$STORM_HOME/conf/java_home" ]; then JAVA_HOME="$(cat "$STORM_HOME/conf/java_home")"; export JAVA_HOME
fi
FOREVER=9223372036854775   # Long.MAX_VALUE / 1000

args=("$@")
if [ "${1:-}" = jar ]; then
    flux=-1
    for ((i = 1; i < $#; i++)); do
        if [ "${args[$i]}" = org.apache.storm.flux.Flux ]; then flux=$i; break; fi
    done
    if [ "$flux" -gt 1 ]; then
        is_local=0 ttl=20 kept=()
        for ((i = flux + 1; i < $#; i++)); do
            case "${args[$i]}" in
                -l|--local) is_local=1 ;;
                -s|--sleep) i=$((i + 1)); ttl="${args[$i]:-20}" ;;
                *) kept+=("${args[$i]}") ;;
            esac
        done
        if [ "$is_local" = 1 ]; then
            [[ "$ttl" =~ ^-?[0-9]+$ ]] || { echo "storm: --sleep needs a number of seconds: $ttl" >&2; exit 2; }
            if [ "${#ttl}" -gt 15 ] || [ "$ttl" -le 0 ] || [ "$ttl" -gt "$FOREVER" ]; then ttl=$FOREVER; fi
            args=(local --local-ttl "$ttl" "${args[@]:1:flux}" "${kept[@]+"${kept[@]}"}")
            echo "storm: Storm 2+ runs Flux locally with storm local: storm ${args[*]}" >&2
        fi
    fi
fi
# Local mode is one JVM on the machine the pipeline runs on: the client compiler only and
# the serial collector cost it about a quarter less CPU per item (paired runs, 2 cores).
# STORM_JAR_JVM_OPTS, even empty, replaces these.
if [ "${args[0]:-}" = local ]; then
    export STORM_JAR_JVM_OPTS="${STORM_JAR_JVM_OPTS-"-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}"
fi
if [ "${args[0]:-}" = local ] && [ -n "${STORM_LOCAL_ZOOKEEPER:-}" ]; then
    export STORM_JAR_JVM_OPTS="${STORM_JAR_JVM_OPTS:-} -Dstorm.local.zookeeper=$STORM_LOCAL_ZOOKEEPER"
fi
exec "$real" "${args[@]+"${args[@]}"}"' 755
ENV_TEXT="# Generated by scripts/install-storm.sh: source it to use the installed Storm.
export JAVA_HOME=\"$JDK\"
export STORM_HOME=\"$STORM_HOME_DIR\"
# Leiningen keeps its settings and builds topologies from the checkout's own tools.
export LEIN_HOME=\"$LEIN_HOME_DIR\"
export SHOOT2TOP_MAVEN_REPO=\"$MAVEN_REPO\"
case \":\$PATH:\" in *\":$TOOLS/bin:\"*) ;; *) export PATH=\"$TOOLS/bin:\$PATH\" ;; esac
# Leiningen (and so streamparse) refuse to run as root without this.
if [ \"\$(id -u)\" -eq 0 ]; then export LEIN_ROOT=1; fi"
write_if_changed "$TOOLS/env.sh" "$ENV_TEXT"

if [ "$FRESH" = 1 ]; then
    out="$(STORM_QUIET=1 "$STORM_HOME_DIR/bin/storm" version 2>&1 | head -n1)" || true
    case "$out" in
        "Storm $STORM_VERSION"*) ;;
        *) die "installed Storm does not answer 'storm version' with Storm $STORM_VERSION: $out" ;;
    esac
    write_manifest "$STORM_HOME_DIR" "$HOME_MANIFEST"
    write_if_changed "$STAMP" "$STAMP_WANT"
    log "ready: $out, Java $JDK_MAJOR ($JDK), $LEIN_OUT"
else
    log "up to date: Storm $STORM_VERSION ($LAYOUT layout) in $STORM_HOME_DIR, Java $JDK_MAJOR, $LEIN_OUT"
fi

# ---------------------------------------------------------------- topology builds
# Everything `sparse run` / `sparse submit` build with Leiningen (project.clj), fetched
# into the checkout's Maven repository now and proved to build offline, as they will.
lein_here() {   # lein_here ARGS...: lein in the project, with the tools' settings
    (cd "$ROOT" && JAVA_HOME="$JDK" LEIN_HOME="$LEIN_HOME_DIR" SHOOT2TOP_MAVEN_REPO="$MAVEN_REPO" \
        LEIN_ROOT=1 lein "$@" </dev/null)
}

lein_builds() {   # lein_builds [+fetch]: every build streamparse runs; output in $1.log
    local profile="${1:-}" task log="$MAVEN_REPO/.lein-build.log"
    : > "$log"
    for task in "deps :tree" "jar" "uberjar"; do
        # shellcheck disable=SC2086
        if ! lein_here ${profile:+with-profile "$profile"} $task >> "$log" 2>&1; then
            echo "lein $task failed" >> "$log"
            return 1
        fi
    done
    lein_here clean >> "$log" 2>&1 || true
}

missing_artifacts() {   # what a failed build log says it could not find
    grep -oE "(Could not (find|transfer) artifact|Failed to read artifact descriptor for) [^ ]+" \
        "$MAVEN_REPO/.lein-build.log" | sort -u | head -n 20 >&2 || tail -n 30 "$MAVEN_REPO/.lein-build.log" >&2
}

REPO_WANT="storm=$STORM_VERSION project=$(sha256sum "$ROOT/project.clj" | cut -c1-16)"
if [ -f "$REPO_STAMP" ] && [ "$(cat "$REPO_STAMP")" = "$REPO_WANT" ] \
        && manifest_holds "$MAVEN_REPO" "$REPO_MANIFEST"; then
    log "up to date: topology build dependencies in $MAVEN_REPO"
else
    t0=$(date +%s)
    mkdir -p "$MAVEN_REPO" "$LEIN_HOME_DIR"
    rm -f "$REPO_STAMP"
    # flux-core's parent POM may need its stand-in before Leiningen can resolve flux-core.
    ensure_flux "$STORM_HOME_DIR/external/flux"
    log "resolving what project.clj needs into $MAVEN_REPO (lein deps :tree, jar, uberjar)"
    if ! lein_builds +fetch; then
        missing_artifacts
        die "Leiningen could not resolve the topology build's dependencies (log: $MAVEN_REPO/.lein-build.log)"
    fi
    log "checking that the topology builds offline"
    if ! lein_builds; then
        missing_artifacts
        die "the topology does not build offline from $MAVEN_REPO (log: $MAVEN_REPO/.lein-build.log)"
    fi
    write_manifest "$MAVEN_REPO" "$REPO_MANIFEST"
    write_if_changed "$REPO_STAMP" "$REPO_WANT"
    log "topology build dependencies ready in $(( $(date +%s) - t0 ))s ($(du -sh "$MAVEN_REPO" | cut -f1))"
fi

if [ "$PRINT_ENV" = 1 ]; then
    printf 'export JAVA_HOME=%q\nexport STORM_HOME=%q\nexport PATH=%q:"$PATH"\n' "$JDK" "$STORM_HOME_DIR" "$TOOLS/bin"
    printf 'export LEIN_HOME=%q\nexport SHOOT2TOP_MAVEN_REPO=%q\n' "$LEIN_HOME_DIR" "$MAVEN_REPO"
    if [ "$(id -u)" -eq 0 ]; then echo 'export LEIN_ROOT=1'; fi
fi
