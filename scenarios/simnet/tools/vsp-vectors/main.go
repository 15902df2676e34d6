// Command vsp-vectors prints the test vectors core/vsp checks itself against, computed by the
// Decred code dcrforge's voting service must agree with: dcrwallet's txrules.StakePoolTicketFee
// (the version scenarios/simnet/tools pins), dcrd's stake ticket rules, hdkeychain, dcrutil WIF, ecdsa.SignCompact
// (dcrwallet's signmessage) and Go's crypto/ed25519 (vspd's response signatures).
//
//	go run . fee mainnet (one network per process: StakePoolTicketFee caches the subsidy of the
//	first network it is called with, as a dcrwallet process serves one network)
//	go run . keys
//
// ./generate.sh runs them all into core/vsp/*.vectors.json.
//
// The JSON numbers that are amounts are strings (int64 does not fit a JavaScript number).
package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"decred.org/dcrwallet/v5/wallet/txrules"
	"github.com/decred/dcrd/blockchain/stake/v5"
	"github.com/decred/dcrd/chaincfg/chainhash"
	"github.com/decred/dcrd/chaincfg/v3"
	"github.com/decred/dcrd/crypto/blake256"
	"github.com/decred/dcrd/dcrec"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/decred/dcrd/dcrutil/v4"
	"github.com/decred/dcrd/hdkeychain/v3"
	"github.com/decred/dcrd/txscript/v4/stdaddr"
	"github.com/decred/dcrd/txscript/v4/stdscript"
	"github.com/decred/dcrd/wire"
)

type feeCase struct {
	Network      string  `json:"network"`
	Height       int32   `json:"height"`
	StakeDiff    string  `json:"stakeDiff"`
	RelayFee     string  `json:"relayFeePerKb"`
	FeePercent   float64 `json:"feePercent"`
	DCP0010      bool    `json:"dcp0010Active"`
	DCP0012      bool    `json:"dcp0012Active"`
	Fee          string  `json:"fee"`
	ValidFeeRate bool    `json:"validFeeRate"`
}

func networkParams(name string) *chaincfg.Params {
	switch name {
	case "mainnet":
		return chaincfg.MainNetParams()
	case "testnet3":
		return chaincfg.TestNet3Params()
	case "simnet":
		return chaincfg.SimNetParams()
	case "regnet":
		return chaincfg.RegNetParams()
	}
	panic("unknown network " + name)
}

func feeCases(name string) []feeCase {
	params := networkParams(name)
	interval := int32(params.SubsidyReductionInterval)
	svh := int32(params.StakeValidationHeight)
	heights := []int32{0, 1, 2, svh - 2, svh - 1, svh, svh + 1, interval - 1, interval, interval + 1,
		3 * interval, 10*interval + 7, 100 * interval, 500000, 782000, 1000000, 2000000, 1 << 30}
	diffs := []int64{int64(params.MinimumStakeDiff), 2000000000, 23456789012, 150000000000, 1 << 52}
	relays := []int64{0, 10000}
	percents := []float64{0, 0.005, 0.01, 0.5, 1, 2, 2.3, 3, 5, 7.77, 10, 33.333, 99.99, 100, 100.004, 100.01, 150}
	splits := [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}}
	var out []feeCase
	i := 0
	for _, h := range heights {
		for _, d := range diffs {
			for _, r := range relays {
				for _, s := range splits {
					// Every percentage at a few combinations, one rotating percentage elsewhere,
					// to keep the file small and every dimension crossed.
					ps := []float64{percents[i%len(percents)]}
					if i%41 == 0 {
						ps = percents
					}
					i++
					for _, p := range ps {
						fee := txrules.StakePoolTicketFee(dcrutil.Amount(d), dcrutil.Amount(r), h, p, params, s[0], s[1])
						out = append(out, feeCase{name, h, strconv.FormatInt(d, 10), strconv.FormatInt(r, 10), p, s[0], s[1],
							strconv.FormatInt(int64(fee), 10), txrules.ValidPoolFeeRate(p)})
					}
				}
			}
		}
	}
	return out
}

type keyCase struct {
	Network string `json:"network"`
	// The master extended public key from Seed (hdkeychain.NewMaster, Neuter), the account xpub
	// m/44'/coin'/0' neutered as dcrwallet exports it, and fee addresses at the indexes vspd uses.
	Seed         string            `json:"seed"`
	MasterXpub   string            `json:"masterXpub"`
	AccountXpub  string            `json:"accountXpub"`
	External0    string            `json:"external0Xpub"`
	Children     map[string]string `json:"childXpubsOfAccount"`
	FeeAddresses map[string]string `json:"feeAddresses"`
}

type wifCase struct {
	Network    string `json:"network"`
	PrivateKey string `json:"privateKey"`
	WIF        string `json:"wif"`
	PubKey     string `json:"publicKey"`
	Address    string `json:"address"`
}

type messageCase struct {
	Network    string `json:"network"`
	PrivateKey string `json:"privateKey"`
	Address    string `json:"address"`
	Message    string `json:"message"`
	Signature  string `json:"signature"`
}

type ed25519Case struct {
	Seed      string `json:"seed"`
	PublicKey string `json:"publicKey"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

// Real tickets: two from simnet (dcrd's blockchain/standalone/merkle_test.go, "from simnet
// testing") and one from mainnet (dcrdata's insight API documentation, ticket
// ff56ce33b326c7233c0517d52c94ba226c038772512c0282c66a488583bb6b23).
var realTickets = []struct{ network, hex string }{
	{"simnet", "010000000167835eeb4d3ac8ee05417e93fbb3cf14ba8bcb07745fbac5433e15cc3b8eb27d0d00000000ffffffff03204e00000000000000001aba76a914fd28ffadc79bfc63642b59aec4a2ee5b2ccf248188ac00000000000000000000206a1e6f360606284502c81ce5b3feb0d71c7874999c34c4590000000000000058000000000000000000001abd76a914000000000000000000000000000000000000000088ac000000003800000001c45900000000000032000000010000006a473044022062abf944c8f258efa9442d70aa6b5a4241c81e8dc1b99fffc741d4af40d6475f022044aae4b930d69ffb825df6a2f9a01f6c8a7abc1fcab70573aace5be1926ed6650121034c9b704a36fab21e12cbb508691c31593f3fce4f3dd11fb0e8fac44c25c8600b"},
	{"simnet", "01000000017364d1a023b2db7b141b6a94e6c4ace36442a338b8175f92a5e4d9668ee1f2180100000000ffffffff03204e00000000000000001aba76a91453a7f2d43babdafdaa510b9c3a3c17145bbf8f2188ac00000000000000000000206a1e874ec2f5538743d21bba9d6ffbff4bc2abd47baac4590000000000000058000000000000000000001abd76a914000000000000000000000000000000000000000088ac000000000000000001c45900000000000034000000010000006a473044022041fa36d2d4d0af2ed567167ef395ddfb21bed9ec9a502bb20d7e728b9627402e02200f59f391232108c6c75713a65ebeefbda618d5ab908b80da9c35d8565fca987e012102d871b270e47643597ff904da3d3b0c9a370fec94930d34002feaa3eb3ffc02dd"},
	{"mainnet", "0100000001717fb09f4606f40c4de88536e7e8533fc69c51e061bc45405f367860543c4e561f00000000ffffffff0300c2eb0b0000000000001aba76a914fdba1349ce643e8ac4b97f6bdce68d9fabe5223b88ac00000000000000000000206a1e9b0522325b5497548641f134834c962b0333f8a3a4cdeb0b000000000058000000000000000000001abd76a914000000000000000000000000000000000000000088ac000000000000000001a4cdeb0b0000000021010000020000006946304302205497e630309cec08ccdeaafacefbc508aadcafd177694e5647b9f04dcf5efe57021f0a06f61893b30c878e5520753741b9d89b3571c5e437df08813854f96d0f710121030480c2768c70cb0879cc820f854c284b111b6b150fa35cc62a5a2050129fb565"},
}

type ticketCase struct {
	Network           string `json:"network"`
	Hex               string `json:"hex"`
	IsSStx            bool   `json:"isSStx"`
	Hash              string `json:"hash"`
	Price             string `json:"price"`
	VotingAddress     string `json:"votingAddress"`
	CommitmentAddress string `json:"commitmentAddress"`
	CommitmentAmount  string `json:"commitmentAmount"`
}

func tickets() []ticketCase {
	var out []ticketCase
	for _, t := range realTickets {
		params := networkParams(t.network)
		tx := wire.NewMsgTx()
		check(tx.FromBytes(must(hex.DecodeString(t.hex))))
		_, voting := stdscript.ExtractAddrs(tx.TxOut[0].Version, tx.TxOut[0].PkScript, params)
		commitment := must(stake.AddrFromSStxPkScrCommitment(tx.TxOut[1].PkScript, params))
		amount := must(stake.AmountFromSStxPkScrCommitment(tx.TxOut[1].PkScript))
		out = append(out, ticketCase{t.network, t.hex, stake.IsSStx(tx), tx.TxHash().String(), strconv.FormatInt(tx.TxOut[0].Value, 10),
			voting[0].String(), commitment.String(), strconv.FormatInt(int64(amount), 10)})
	}
	return out
}

type keysFile struct {
	Tickets  []ticketCase  `json:"tickets"`
	Keys     []keyCase     `json:"extendedKeys"`
	WIFs     []wifCase     `json:"wifs"`
	Messages []messageCase `json:"signedMessages"`
	Ed25519  []ed25519Case `json:"ed25519"`
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}

func seedOf(label string) []byte {
	h := blake256.Sum256([]byte(label))
	return h[:]
}

func keys() keysFile {
	var f keysFile
	f.Tickets = tickets()
	for _, name := range []string{"mainnet", "testnet3", "simnet"} {
		params := networkParams(name)
		seed := seedOf("dcrforge vsp vectors " + name)
		master := must(hdkeychain.NewMaster(seed, params))
		coin := params.SLIP0044CoinType
		purpose := must(master.Child(44 + hdkeychain.HardenedKeyStart))
		coinKey := must(purpose.Child(coin + hdkeychain.HardenedKeyStart))
		account := must(coinKey.Child(hdkeychain.HardenedKeyStart))
		accountPub := account.Neuter()
		external := must(accountPub.Child(0))
		children := map[string]string{}
		for _, i := range []uint32{0, 1, 2, 7, 1000, 0x7fffffff} {
			children[strconv.FormatUint(uint64(i), 10)] = must(accountPub.Child(i)).String()
		}
		fees := map[string]string{}
		for _, i := range []uint32{0, 1, 2, 3, 10, 99, 12345} {
			child := must(external.Child(i))
			addr := must(stdaddr.NewAddressPubKeyHashEcdsaSecp256k1V0(stdaddr.Hash160(child.SerializedPubKey()), params))
			fees[strconv.FormatUint(uint64(i), 10)] = addr.String()
		}
		f.Keys = append(f.Keys, keyCase{name, hex.EncodeToString(seed), master.Neuter().String(), accountPub.String(), external.String(), children, fees})

		for j := 0; j < 3; j++ {
			priv := seedOf(fmt.Sprintf("dcrforge wif %s %d", name, j))
			wif := must(dcrutil.NewWIF(priv, params.PrivateKeyID, dcrec.STEcdsaSecp256k1))
			pub := wif.PubKey()
			addr := must(stdaddr.NewAddressPubKeyHashEcdsaSecp256k1V0(stdaddr.Hash160(pub), params))
			f.WIFs = append(f.WIFs, wifCase{name, hex.EncodeToString(priv), wif.String(), hex.EncodeToString(pub), addr.String()})

			// dcrwallet's signmessage: SignCompact over BLAKE-256 of the two var-strings, compressed key.
			for _, msg := range []string{"", "vsp v3 request", fmt.Sprintf(`{"timestamp":%d,"tickethash":"%064x"}`, 1700000000+j, j), string(bytes.Repeat([]byte("x"), 300)), "ünïcödé ✓"} {
				var buf bytes.Buffer
				check(wire.WriteVarString(&buf, 0, "Decred Signed Message:\n"))
				check(wire.WriteVarString(&buf, 0, msg))
				sig := ecdsa.SignCompact(secp256k1.PrivKeyFromBytes(priv), chainhash.HashB(buf.Bytes()), true)
				b64 := base64.StdEncoding.EncodeToString(sig)
				if err := dcrutil.VerifyMessage(addr.String(), b64, msg, params); err != nil {
					panic(err)
				}
				f.Messages = append(f.Messages, messageCase{name, hex.EncodeToString(priv), addr.String(), msg, b64})
			}
		}
	}
	for j := 0; j < 3; j++ {
		seed := seedOf(fmt.Sprintf("dcrforge ed25519 %d", j))
		priv := ed25519.NewKeyFromSeed(seed)
		body := []byte(fmt.Sprintf(`{"apiversions":[3],"timestamp":%d,"pubkey":"x"}`+"\n", 1700000000+j))
		f.Ed25519 = append(f.Ed25519, ed25519Case{hex.EncodeToString(seed), base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)),
			base64.StdEncoding.EncodeToString(body), base64.StdEncoding.EncodeToString(ed25519.Sign(priv, body))})
	}
	return f
}

func main() {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	var v any
	switch {
	case len(os.Args) == 3 && os.Args[1] == "fee":
		// One case a line: thousands of them stay readable in a diff.
		for _, c := range feeCases(os.Args[2]) {
			line, err := json.Marshal(c)
			check(err)
			fmt.Println(string(line))
		}
		return
	case len(os.Args) == 2 && os.Args[1] == "keys":
		v = keys()
	default:
		fmt.Fprintln(os.Stderr, "usage: vsp-vectors fee <network> | vsp-vectors keys")
		os.Exit(2)
	}
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
}
