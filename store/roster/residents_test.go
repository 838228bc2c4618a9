package roster

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func knownGrids(g string) bool { return g == "一号网格" || g == "二号网格" }

func TestReadResidents(t *testing.T) {
	good := "姓名,类别,网格,地址,电话,需求\n赵大爷,空巢老人,一号网格,东关街12号3单元,13912345678,每周买菜\n小明,留守儿童,二号网格,西门路8号,,课业辅导\n"
	english := "name,category,grid,address,phone,needs\n赵大爷,空巢老人,一号网格,东关街12号3单元,0514-87654321,每周买菜\n"
	noPhone := "姓名,类别,网格,地址,需求\n赵大爷,空巢老人,一号网格,东关街12号3单元,每周买菜\n"
	for _, c := range []struct {
		name, file string
		data       []byte
		rows       int
		phone      string
	}{
		{"csv", "a.csv", []byte(good), 2, "13912345678"},
		{"csv with BOM", "a.csv", append([]byte("\uFEFF"), good...), 2, "13912345678"},
		{"english headers and a landline", "a.csv", []byte(english), 1, "0514-87654321"},
		{"no phone column", "a.csv", []byte(noPhone), 1, ""},
		{"xlsx", "a.xlsx", xlsxOf(t, [][]any{
			{"姓名", "类别", "网格", "地址", "电话", "需求"},
			{"赵大爷", "空巢老人", "一号网格", "东关街12号3单元", 13912345678, "每周买菜"},
		}, nil), 1, "13912345678"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, err := ReadResidents(c.file, bytes.NewReader(c.data), knownGrids)
			if err != nil || len(rows) != c.rows {
				t.Fatalf("ReadResidents = %+v, %v", rows, err)
			}
			if r := rows[0]; r.Row != 2 || r.Name != "赵大爷" || r.Grid != "一号网格" || r.Phone != c.phone || r.Needs != "每周买菜" {
				t.Errorf("row = %+v", r)
			}
		})
	}
}

// TestReadResidentsBadRows: every kind of bad row is reported with its
// row number, the file is refused whole, and no message repeats a
// person's name, phone or address.
func TestReadResidentsBadRows(t *testing.T) {
	file := strings.Join([]string{
		"姓名,类别,网格,地址,电话,需求",
		"赵大爷,空巢老人,一号网格,东关街12号3单元,13912345678,每周买菜", // 2: good
		",空巢老人,一号网格,东关街13号,,买菜",                    // 3: no name
		"周,空巢老人,一号网格,东关街14号,,买菜",                   // 4: name too short
		"吴大妈,老人,一号网格,东关街15号,,买菜",                   // 5: unknown category
		"郑大伯,其他,三号网格,东关街16号,,买菜",                   // 6: unknown grid
		"王阿姨,其他,一号网格,东关,,买菜",                       // 7: address too short
		"冯叔叔,其他,一号网格,东关街18号,12345,买菜",              // 8: bad phone
		"陈奶奶,其他,一号网格,东关街19号,,",                     // 9: no needs
		"赵大爷,其他,二号网格,东关街12号3单元,,陪伴",                // 10: same name and address as row 2
		",,,,,", // 11: empty: skipped
		"卫爷爷,其他,,东关街20号,,买菜", // 12: no grid
	}, "\n")
	_, err := ReadResidents("bad.csv", strings.NewReader(file), knownGrids)
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("ReadResidents = %v, want a *FileError", err)
	}
	rows := map[int]string{}
	for _, p := range fe.Problems {
		rows[p.Row] += p.Msg
		for _, secret := range []string{"东关街", "13912345678", "12345", "周", "吴大妈", "郑大伯", "冯叔叔", "陈奶奶", "赵大爷"} {
			if strings.Contains(p.Msg, secret) {
				t.Errorf("problem %q repeats the person's data %q", p, secret)
			}
		}
	}
	for row, has := range map[int]string{3: "姓名为空", 4: "姓名", 5: "类别", 6: "三号网格", 7: "地址", 8: "电话", 9: "需求为空", 10: "第2行重复", 12: "网格为空"} {
		if !strings.Contains(rows[row], has) {
			t.Errorf("row %d: problems %q, want %q", row, rows[row], has)
		}
	}
	for _, row := range []int{2, 11} {
		if rows[row] != "" {
			t.Errorf("row %d reported: %q", row, rows[row])
		}
	}
	if _, err := ReadResidents("bad.csv", strings.NewReader("姓名,网格\n赵大爷,一号网格\n"), knownGrids); !errors.As(err, &fe) ||
		!strings.Contains(fe.Error(), "类别/category") || !strings.Contains(fe.Error(), "需求/needs") {
		t.Errorf("missing columns = %v", err)
	}
}
