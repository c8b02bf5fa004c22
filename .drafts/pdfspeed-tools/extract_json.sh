#!/bin/sh
# ogi extract --json of the main samples into $1/
mkdir -p $1
cd /work/wt/pdfspeed
for f in dev-12 gen-grid gen-unruled gen-repeat libreoffice fauxbold fuzz-000-dev-12 fuzz-006-dev-12 fuzz-012-dev-12 fuzz-018-dev-12 fuzz-001-gen-grid fuzz-007-gen-grid; do
  .venv/bin/ogi extract --json /tmp/pdfspeed/samples/$f.pdf > $1/$f.json 2>$1/$f.err
done
