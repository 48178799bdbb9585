#!/usr/bin/env bash
# Builds assets/fkui/fkui.css, the pages' FKUI base, from the pinned @fkui/design and
# @fkui/theme-default (MIT): compiles assets/fkui/sig-fkui.scss with dart-sass, then puts in
# front of it the theme's CSS variables the compiled rules use (and only those). Run it after
# changing the pin or sig-fkui.scss, and commit the result; the build itself needs no npm.
set -euo pipefail
cd "$(dirname "$0")/.."
DESIGN=6.44.0 THEME=6.44.0 SASS=1.93.2
work=target/fkui-build
rm -rf "$work" && mkdir -p "$work"
(cd "$work" && npm pack --silent "@fkui/design@$DESIGN" "@fkui/theme-default@$THEME" >/dev/null \
  && mkdir fkui theme && tar xzf "fkui-design-$DESIGN.tgz" -C fkui --strip-components=1 \
  && tar xzf "fkui-theme-default-$THEME.tgz" -C theme --strip-components=1 \
  && npm install --silent --no-audit --no-fund --no-save "sass@$SASS" >/dev/null)
"$work/node_modules/.bin/sass" --no-source-map --style=compressed --load-path="$work" \
  assets/fkui/sig-fkui.scss "$work/rules.css"
python3 - "$work" "$DESIGN" <<'PY'
import re, sys
work, version = sys.argv[1], sys.argv[2]
rules = open(f"{work}/rules.css", encoding="utf-8").read().lstrip("\ufeff")
declared = {}
for name in ("fkui-css-variables.css", "fkui-css-variables-deprecated.css"):
    for m in re.finditer(r"(--[\w-]+)\s*:\s*([^;}]+)[;}]", open(f"{work}/theme/dist/{name}").read()):
        declared.setdefault(m.group(1), m.group(2).strip())
used = set(re.findall(r"var\((--[\w-]+)", rules))
todo = list(used)
while todo:
    for ref in re.findall(r"var\((--[\w-]+)", declared.get(todo.pop(), "")):
        if ref not in used:
            used.add(ref)
            todo.append(ref)
missing = sorted(v for v in used if v not in declared)
if missing:
    sys.exit(f"variables without a value: {missing}")
root = ":root{" + ";".join(f"{k}:{declared[k]}" for k in sorted(used)) + "}"
head = f"/* FKUI {version} (@fkui/design, @fkui/theme-default), MIT, Försäkringskassan: see fkui/LICENSE.md. Built by scripts/fkui.sh. */\n"
open("assets/fkui/fkui.css", "w", encoding="utf-8").write(head + root + rules + "\n")
PY
cp "$work/fkui/LICENSE.md" assets/fkui/LICENSE.md
wc -c assets/fkui/fkui.css
