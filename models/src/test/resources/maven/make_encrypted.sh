#!/bin/sh
# Makes the fixtures of ModelResolverTest's encrypted-password tests with Maven 3's own CLI (here Apache Maven 3.8.7,
# Debian's `maven` package), the independent implementation of the scheme: a master password encrypted into
# settings-security.xml, and server / proxy passwords encrypted with it. Maven salts every encryption, so each run
# gives other (equally valid) strings.
#   sh models/src/test/resources/maven/make_encrypted.sh models/src/test/resources/maven
set -eu
out=${1:-.}
enc() { mvn -q -B "$@" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | grep '^{'; }
master=$(enc --encrypt-master-password 'tessera-master-Pw')
printf '<settingsSecurity>\n  <master>%s</master>\n</settingsSecurity>\n' "$master" > "$out/settings-security.xml"
sec=$(cd "$out" && pwd)/settings-security.xml
{
  echo "# made by make_encrypted.sh with $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g')"
  echo "server=$(enc -Dsettings.security="$sec" --encrypt-password 'repo-s3cret')"
  echo "proxy=$(enc -Dsettings.security="$sec" --encrypt-password 'proxy-pw')"
} > "$out/encrypted-passwords.properties"
