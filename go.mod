module github.com/hexiao/hexiao

go 1.26.0

require github.com/coreos/go-semver v0.3.1

require github.com/mattn/go-sqlite3 v1.14.53
