package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lanewatch/lanewatch/wal"
)

// newJournalCmd is `lanewatch journal check|salvage --data-dir D`: the durable log's damage
// report and repair (wal.Check, wal.Salvage) for operators.
func newJournalCmd(stdout, stderr io.Writer, code *int) *cobra.Command {
	journal := &cobra.Command{
		Use:   "journal",
		Short: "check or repair the journal (the durable log under DATA_DIR/journal)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Usage()
			*code = 2
			return nil
		},
	}
	sub := func(use, short, long string, fn func(dir string) int) *cobra.Command {
		var dataDir string
		c := &cobra.Command{
			Use:   use + " --data-dir DIR",
			Short: short,
			Long:  long,
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				d := envDefault(c, "data-dir", dataDir, "LANEWATCH_DATA_DIR")
				if d == "" {
					return fmt.Errorf("--data-dir is required (or LANEWATCH_DATA_DIR)")
				}
				dir := filepath.Join(d, "journal")
				if _, err := os.Stat(dir); err != nil {
					fmt.Fprintf(stderr, "lanewatch: journal %s: %v\n", dir, err)
					*code = 1
					return nil
				}
				*code = fn(dir)
				return nil
			},
		}
		c.Flags().StringVar(&dataDir, "data-dir", "", "data directory (the journal is DIR/journal; env LANEWATCH_DATA_DIR)")
		_ = c.MarkFlagDirname("data-dir")
		return c
	}
	check := sub("check", "report journal damage with file and offset; exit 1 if the journal cannot be read to its end",
		`Read every segment and the commit file of the journal without changing anything (it may run
beside lanewatch) and print each segment's intact records and the first damage with its file
and byte offset. Exit 0 when the journal opens and reads to its end (a torn last record,
which lanewatch cuts by itself at start-up, included), 1 otherwise; then see 'journal salvage'.`,
		func(dir string) int { return journalCheck(dir, stdout, stderr) })
	salvage := sub("salvage", "back up the journal, then cut it at the last intact record so lanewatch starts",
		`Copy the journal to DIR/journal.bak-<UTC time>, truncate the first damaged segment at its
last intact record, remove the segments after it (the journal must be contiguous; they stay in
the backup) and rewrite a damaged commit file so that everything left is replayed (replays are
harmless). Refuses to run while lanewatch holds the journal. Exit 0 when repaired.`,
		func(dir string) int { return journalSalvage(dir, stdout, stderr, time.Now) })
	journal.AddCommand(check, salvage)
	return journal
}

func journalCheck(dir string, stdout, stderr io.Writer) int {
	rep, err := wal.Check(dir)
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch: journal check: %v\n", err)
		return 1
	}
	printReport(stdout, rep)
	if !rep.OK() {
		fmt.Fprintf(stdout, "journal %s is damaged: run 'lanewatch journal salvage --data-dir %s'\n", dir, filepath.Dir(dir))
		return 1
	}
	fmt.Fprintf(stdout, "journal %s is intact\n", dir)
	return 0
}

func printReport(w io.Writer, rep *wal.Report) {
	if rep.CommitErr != nil {
		fmt.Fprintf(w, "commit: DAMAGED: %v\n", rep.CommitErr)
	} else {
		fmt.Fprintf(w, "commit: record %d\n", rep.Committed)
	}
	if rep.HandledErr != nil {
		fmt.Fprintf(w, "handled: DAMAGED: %v (salvage removes it: the records after the commit are handled again in full)\n", rep.HandledErr)
	}
	for _, s := range rep.Segments {
		fmt.Fprintf(w, "%s: first record %d, %d intact records, %d of %d bytes", s.File, s.FirstSeq, s.Records, s.Good, s.Size)
		switch {
		case s.Gap != "":
			fmt.Fprintf(w, "; DAMAGED: %s", s.Gap)
		case s.Damage != nil && s.Torn:
			fmt.Fprintf(w, "; torn last record at offset %d (cut at start-up)", s.Damage.Offset)
		case s.Damage != nil:
			fmt.Fprintf(w, "; DAMAGED at offset %d: %s", s.Damage.Offset, s.Damage.Reason)
		}
		fmt.Fprintln(w)
	}
}

func journalSalvage(dir string, stdout, stderr io.Writer, now func() time.Time) int {
	res, err := wal.Salvage(dir, now())
	if err != nil {
		fmt.Fprintf(stderr, "lanewatch: journal salvage: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "backup: %s\n", res.Backup)
	if res.Truncated != "" {
		fmt.Fprintf(stdout, "truncated %s at offset %d (%d bytes cut; they are in the backup)\n", res.Truncated, res.At, res.CutBytes)
	}
	for _, d := range res.Dropped {
		fmt.Fprintf(stdout, "removed %s (after the damage; kept in the backup)\n", d)
	}
	if res.LostRecords > 0 {
		fmt.Fprintf(stdout, "%d intact records after the damage are only in the backup\n", res.LostRecords)
	}
	fmt.Fprintf(stdout, "commit: record %d; lanewatch replays from there\n", res.Commit)
	return 0
}
