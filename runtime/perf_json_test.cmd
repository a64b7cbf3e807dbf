@echo off
rem The guide's perf_json_test: starts what it needs, prints the guide's lines (measured), cleans up.
cd /d "%~dp0.."
if not exist dist\harness\cli.js call npm run build
node dist\harness\cli.js guide json %*
