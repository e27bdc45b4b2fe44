#!/usr/bin/env bash
# JMeter 2.13 (Debian package `jmeter`) in non-GUI mode through CrestJMeterLauncher: the
# packaged command fails on Debian 12 (XStream's allow-list). Arguments are JMeter's own
# (-t plan.jmx -l results.jtl -Jname=value ...). Exits 3 when JMeter is not installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
home=/usr/share/jmeter
if [[ ! -f $home/bin/ApacheJMeter.jar ]] || ! command -v javac >/dev/null; then
  echo "JMeter 2.13 not installed (apt-get install jmeter)" >&2
  exit 3
fi
classes="${CREST_JMETER_CLASSES:-${TMPDIR:-/tmp}/crest-jmeter-launcher}"
cp="$home/bin/ApacheJMeter.jar:$home/lib/ext/*:$home/lib/*"
if [[ ! -f $classes/CrestJMeterLauncher.class || $here/CrestJMeterLauncher.java -nt $classes/CrestJMeterLauncher.class ]]; then
  mkdir -p "$classes"
  javac -d "$classes" "$here/CrestJMeterLauncher.java"
fi
# nongui.port=0: no UDP shutdown port on all interfaces; field names give the JTL a header row.
exec java ${JMETER_JAVA_OPTS:-} -Djmeter.home=$home -cp "$classes:$cp" CrestJMeterLauncher -n \
  -Jjmeterengine.nongui.port=0 -Jjmeter.save.saveservice.print_field_names=true \
  -j "${JMETER_LOG:-/dev/null}" "$@"
