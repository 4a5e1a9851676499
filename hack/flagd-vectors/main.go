// Prints test vectors for Robusto's percentage rollout: the variant flagd's "fractional" operation
// gives each tenant, computed with the algorithm flagd publishes (murmur3 x86 32-bit, seed 0, of
// flag key + targeting key; |int32(hash)| / MaxInt32 * 100 against cumulative weight percentages)
// and an independent murmur3 implementation. Regenerate with:
//   (cd hack/flagd-vectors && go run . > ../../src/test/resources/flagd-fractional-vectors.csv)
package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/spaolacci/murmur3"
)

type weighted struct {
	variant string
	weight  int
}

func distribute(value string, variants []weighted) string {
	total := 0
	for _, v := range variants {
		total += v.weight
	}
	hashValue := int32(murmur3.Sum32([]byte(value)))
	hashRatio := math.Abs(float64(hashValue)) / math.MaxInt32
	bucket := hashRatio * 100
	rangeEnd := 0.0
	for _, v := range variants {
		rangeEnd += float64(v.weight) / float64(total) * 100
		if bucket < rangeEnd {
			return v.variant
		}
	}
	return ""
}

func main() {
	flags := []string{"captcha-solving", "model-config", "nuevo-portal"}
	rollouts := [][]weighted{
		{{"on", 50}, {"off", 50}},
		{{"on", 10}, {"off", 90}},
		{{"on", 20}, {"off", 80}},
		{{"gpt", 25}, {"claude", 25}, {"local", 50}},
		{{"on", 1}, {"off", 99}},
		{{"a", 3}, {"b", 7}},
	}
	tenants := []string{"acme", "comercializadora-norte", "tacos-el-guero", "compañía-ñandú", ""}
	for i := 0; i < 60; i++ {
		tenants = append(tenants, fmt.Sprintf("tenant-%d", i))
	}
	fmt.Println("flag,tenant,weights,variant")
	for _, flag := range flags {
		for _, rollout := range rollouts {
			parts := []string{}
			for _, w := range rollout {
				parts = append(parts, fmt.Sprintf("%s:%d", w.variant, w.weight))
			}
			for _, tenant := range tenants {
				fmt.Printf("%s,%s,%s,%s\n", flag, tenant, strings.Join(parts, " "), distribute(flag+tenant, rollout))
			}
		}
	}
}
