module robusto.dev/hack/flagd-vectors

go 1.24

require github.com/spaolacci/murmur3 v1.1.0
