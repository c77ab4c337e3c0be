package conformance

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"
)

// The payloads of the compression cases (12.x, 13.x). Autobahn cuts its
// messages from five files of its testdata directory, one after the other,
// wrapping around at the end; text files are cut by characters, binary ones
// by bytes. The harness does the same, from Autobahn's own files when
// Options.TestData names a directory holding them (for byte-exact
// payloads), and otherwise from stand-ins it generates: files of the same
// size and kind, made by deterministic generators, so that the repository
// holds neither Autobahn's data nor the copyrighted picture and paper among
// it.

// dataSource is one test file.
type dataSource struct {
	key    string // Autobahn's name for it
	file   string // Autobahn's file name
	desc   string
	binary bool // sent as binary messages (else text, cut by characters)
	size   int  // Autobahn's file size, the stand-in's size
	gen    func(n int) []byte
}

// dataSources are Autobahn's compression test files in the order of its
// 12.1-12.5 (WS_COMPRESSION_TESTDATA_KEYS).
var dataSources = []dataSource{
	{"json_data1", "data1.json", "Large JSON data file (utf8, 194056 bytes)", false, 194056, genJSON},
	{"lena512", "lena512.bmp", "Picture, bitmap 512x512 8-bit gray (binary, 263222 bytes)", true, 263222, genBitmap},
	{"gutenberg_faust", "pg2229.txt", "Human readable German verse, sent as binary (binary, 222218 bytes)", true, 222218, genVerse},
	{"html_data1", "data1.html", "Large HTML file (utf8, 263647 bytes)", false, 263647, genHTML},
	{"ooms", "10.1.1.105.5439.pdf", "A larger PDF (binary, 1042328 bytes)", true, 1042328, genPDF},
}

// testData is a loaded test file.
type testData struct {
	src   *dataSource
	data  []byte
	runes []int // byte offset of each character of a text file, and len(data)
	from  string
}

var (
	testDataMu    sync.Mutex
	testDataCache = map[string][]*testData{}
)

// loadTestData returns the five test files: Autobahn's from dir when it
// holds them all, the generated stand-ins when dir is "".
func loadTestData(dir string) ([]*testData, error) {
	testDataMu.Lock()
	defer testDataMu.Unlock()
	if td, ok := testDataCache[dir]; ok {
		return td, nil
	}
	var out []*testData
	for i := range dataSources {
		src := &dataSources[i]
		t := &testData{src: src, from: "generated stand-in"}
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, src.file))
			if err != nil {
				return nil, fmt.Errorf("conformance: Autobahn test data: %w", err)
			}
			t.data, t.from = b, filepath.Join(dir, src.file)
		} else {
			t.data = src.gen(src.size)
		}
		if !src.binary {
			if !utf8.Valid(t.data) {
				return nil, fmt.Errorf("conformance: test data %s is not UTF-8", t.from)
			}
			for i := range string(t.data) {
				t.runes = append(t.runes, i)
			}
			t.runes = append(t.runes, len(t.data))
		}
		out = append(out, t)
	}
	testDataCache[dir] = out
	return out, nil
}

// length is the file's length in the units messages are cut by.
func (t *testData) length() int {
	if t.src.binary {
		return len(t.data)
	}
	return len(t.runes) - 1
}

// cut returns the next message of n units from *ptr, wrapping around the
// end of the file, and moves *ptr on, as Autobahn's sendOne does.
func (t *testData) cut(ptr *int, n int) []byte {
	if n <= 0 {
		return []byte{}
	}
	from, to := *ptr, (*ptr+n)%t.length()
	*ptr = to
	at := func(i int) int {
		if t.src.binary {
			return i
		}
		return t.runes[i]
	}
	if to > from {
		return bytes.Clone(t.data[at(from):at(to)])
	}
	return append(bytes.Clone(t.data[at(from):]), t.data[:at(to)]...)
}

// The generators. Each is deterministic and returns exactly n bytes.

// genJSON writes a report index like Autobahn's data1.json (an index.json
// of test results, indented by 3): agents, case ids, grades and durations.
func genJSON(n int) []byte {
	r := rand.New(rand.NewPCG(1, 12))
	grades := []string{"OK", "OK", "OK", "OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED"}
	ids := autobahnIDsForData()
	var b strings.Builder
	b.WriteString("{\n")
	for a := 0; b.Len() < n; a++ {
		agent := fmt.Sprintf("Agent%d/0.%d.%d", a, r.IntN(10), r.IntN(20))
		if a > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "   %q: {\n", agent)
		for i, id := range ids {
			g := grades[r.IntN(len(grades))]
			code := "1000"
			if r.IntN(6) == 0 {
				code = fmt.Sprint([]int{1002, 1007, 1009, 1011}[r.IntN(4)])
			}
			fmt.Fprintf(&b, "      %q: {\n         \"behavior\": %q,\n         \"behaviorClose\": %q,\n         \"duration\": %d,\n         \"remoteCloseCode\": %s,\n         \"reportfile\": \"%s_case_%s.json\"\n      }",
				id, g, grades[r.IntN(4)], r.IntN(200), code, strings.ToLower(strings.NewReplacer("/", "_", ".", "_").Replace(agent)), strings.ReplaceAll(id, ".", "_"))
			if i < len(ids)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("   }")
	}
	return []byte(b.String()[:n])
}

// autobahnIDsForData lists case ids for the generated report data.
func autobahnIDsForData() []string {
	var ids []string
	for c := 1; c <= 13; c++ {
		for s := 1; s <= 6; s++ {
			for k := 1; k <= 8; k++ {
				ids = append(ids, fmt.Sprintf("%d.%d.%d", c, s, k))
			}
		}
	}
	return ids
}

// genBitmap writes a 512x512 8-bit grayscale BMP (Windows 3.x format, 256
// entry palette) of a smooth synthetic picture with a little noise, laid
// out as Autobahn's lena512.bmp: 1078 bytes of headers and palette, then
// 262144 pixels.
func genBitmap(n int) []byte {
	const w, h = 512, 512
	b := make([]byte, 0, n)
	le32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	le16 := func(v uint16) { b = binary.LittleEndian.AppendUint16(b, v) }
	b = append(b, 'B', 'M')
	le32(uint32(n))
	le32(0)
	le32(1078)
	le32(40)
	le32(w)
	le32(h)
	le16(1)
	le16(8)
	le32(0)
	le32(w * h)
	le32(2835)
	le32(2835)
	le32(256)
	le32(256)
	for i := range 256 {
		b = append(b, byte(i), byte(i), byte(i), 0)
	}
	r := rand.New(rand.NewPCG(2, 12))
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			dx, dy := fx-260, fy-230
			v := 110 + 55*math.Sin(fx/37)*math.Cos(fy/29) + 45*math.Exp(-(dx*dx+dy*dy)/18000) + 20*math.Sin((fx+fy)/11)
			v += float64(r.IntN(7) - 3)
			b = append(b, byte(max(0, min(255, v))))
		}
	}
	for len(b) < n {
		b = append(b, 0)
	}
	return b[:n]
}

// verseWords are German words, with umlauts and ß, for the verse stand-in.
var verseWords = strings.Fields(`und die der ich nicht das zu ist sie mir es so mich ein wie mit du den sich was auf
ihr nur dem doch wenn noch an auch wohl wir da sein hat mein von ach dich als wird schon um nun bin mag kann
Herz Welt Geist Nacht Himmel Erde Liebe Mensch Gott Teufel Seele Zeit Blut Feuer Licht Leben Tod Traum Lust
schön hoch tief süß groß klein wahr heiß kühl müde fröhlich lächeln gehen kommen sehen wissen glauben fühlen
Mädchen Bücher Wälder Grüße Männer Türen Freude Schmerz Sehnsucht Frühling Straße Gefühl Nähe Ewigkeit`)

// genVerse writes UTF-8 German-like verse with speakers and stanzas,
// starting with a byte order mark, as Project Gutenberg's pg2229.txt does.
func genVerse(n int) []byte {
	r := rand.New(rand.NewPCG(3, 12))
	speakers := []string{"FAUST", "MEPHISTOPHELES", "MARGARETE", "WAGNER", "CHOR", "MARTHE"}
	var b strings.Builder
	b.WriteString("\ufeffDie Tragödie, erster Teil: ein Stand-in für den Test\r\n\r\n")
	for b.Len() < n {
		fmt.Fprintf(&b, "%s:\r\n", speakers[r.IntN(len(speakers))])
		for range 2 + r.IntN(8) {
			b.WriteString("  ")
			for w := range 4 + r.IntN(5) {
				word := verseWords[r.IntN(len(verseWords))]
				if w == 0 {
					word = strings.ToUpper(word[:1]) + word[1:]
				}
				if w > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(word)
			}
			b.WriteString([]string{",", ";", ".", "!", "?", ""}[r.IntN(6)] + "\r\n")
		}
		b.WriteString("\r\n")
	}
	return cutUTF8(b.String(), n)
}

// cutUTF8 returns the first n bytes of s, padding with spaces where a cut
// would split a character.
func cutUTF8(s string, n int) []byte {
	out := []byte(s[:n])
	for !utf8.Valid(out) {
		out[len(out)-1] = ' '
	}
	return out
}

// genHTML writes an HTML test report like Autobahn's data1.html: a style
// sheet, then tables of cases and grades. A few non-ASCII characters make
// cutting by characters differ from cutting by bytes, as in the original.
func genHTML(n int) []byte {
	r := rand.New(rand.NewPCG(4, 12))
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n   <head>\n      <meta charset=\"utf-8\" />\n      <style lang=\"css\">\n")
	for i := range 60 {
		fmt.Fprintf(&b, ".c%d {\n   background-color: #%06x;\n   color: #%06x;\n   padding: %dpx %dpx;\n   font-family: Segoe UI,Tahoma,Arial,Verdana,sans-serif;\n}\n\n", i, r.IntN(1<<24), r.IntN(1<<24), r.IntN(9), r.IntN(9))
	}
	b.WriteString("      </style>\n   </head>\n   <body>\n      <p id=\"intro\">Summary report – generated by a stand-in, “µ” included.</p>\n      <table id=\"agent_case_results\">\n")
	grades := []string{"Pass", "Pass", "Pass", "Non-Strict", "Info", "Fail"}
	for i := 0; b.Len() < n; i++ {
		id := fmt.Sprintf("%d.%d.%d", 1+i/400%13, 1+i/20%20, 1+i%20)
		fmt.Fprintf(&b, "         <tr class=\"agent_case_result_row\">\n            <td class=\"case\"><a href=\"#case_desc_%s\">Case %s</a></td>\n", strings.ReplaceAll(id, ".", "_"), id)
		for a := range 4 {
			g := grades[r.IntN(len(grades))]
			fmt.Fprintf(&b, "            <td class=\"case_%s\"><a href=\"agent%d_case_%s.html\">%s</a></td><td class=\"close close_hide case_ok\"><span class=\"close_code\">%d</span></td>\n",
				strings.ToLower(strings.ReplaceAll(g, "-", "_")), a, strings.ReplaceAll(id, ".", "_"), g, []int{1000, 1000, 1002, 1007}[r.IntN(4)])
		}
		b.WriteString("         </tr>\n")
	}
	return cutUTF8(b.String(), n)
}

// genPDF writes a PDF-like file: object dictionaries in ASCII around
// streams of deflate-compressed page text, the mix that makes a PDF
// compress little.
func genPDF(n int) []byte {
	r := rand.New(rand.NewPCG(5, 12))
	var b bytes.Buffer
	b.WriteString("%PDF-1.2\n%\xe2\xe3\xcf\xd3\n")
	var text, z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	for obj := 1; b.Len() < n; obj++ {
		text.Reset()
		for range 200 + r.IntN(400) {
			fmt.Fprintf(&text, "BT /F%d %d Tf %d %d Td (%s %s %s) Tj ET\n", r.IntN(8), 8+r.IntN(6), r.IntN(600), r.IntN(800),
				englishWords[r.IntN(len(englishWords))], englishWords[r.IntN(len(englishWords))], englishWords[r.IntN(len(englishWords))])
		}
		z.Reset()
		fw.Reset(&z)
		fw.Write(text.Bytes())
		fw.Close()
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", obj, z.Len())
		b.Write(z.Bytes())
		fmt.Fprintf(&b, "\nendstream\nendobj\n%d 0 obj\n<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 %d 0 R >> >> /MediaBox [0 0 612 792] /Contents %d 0 R >>\nendobj\n", obj+1000, obj+2000, obj)
	}
	return b.Bytes()[:n]
}

var englishWords = strings.Fields(`the of and to in is was that for it with as his on be at by had are but from
or have an they which one you were all her she there would their we him been has when who will no more if out
so up said what its about than into them can only other time new some could these two may first then do any
like my now over such our man me even most made after also did many off before must well back through years
message frame server client window stream event socket push wire bytes every`)
