// Package casereview owns the case-file review (行政执法案卷评查, DOMAIN.md 10): the checklist
// (the review section of configs/supervision.yaml), reviews that draw a reproducible seeded
// sample of closed cases by filter (period, district, department, category, road class,
// source), reviewers' scores of each case file (every item pass, fail or not applicable, with
// a note; a score on 0–100), the results per case, department and district, the district
// means that may feed the 综合指数 with a configured weight, and the case files (case, full
// timeline, photos, rating) that the console prints.
//
// It must not import dispatch, api or the store drivers: cases are listed and read through the
// small Cases interface declared here, and reviews persist through Store (store.Store
// satisfies it). It never changes a case.
package casereview
