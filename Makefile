# Trawl: `make start` installs what is needed and starts the embedded service;
# `make test` runs every test (starting a throwaway local PostgreSQL when it can).
.PHONY: start test build deps clean bench

start: build
	node --single-threaded-gc bin/trawl.js serve

test: build
	bash scripts/test.sh

build: deps
	npx tsc -p tsconfig.json
	npx tsc -p web/tsconfig.json
	node web/build.mjs

deps:
	bash scripts/install-deps.sh

bench: build
	bash bench/run-all.sh

clean:
	rm -rf dist node_modules .pgtest
