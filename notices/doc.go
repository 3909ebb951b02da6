// Package notices owns the vehicle-owner notice before enforcement (违停提醒, DOMAIN.md 11): for
// a camera incident of a configured category (0505 illegal parking, 0104 abandoned vehicle)
// whose event carries a plate, it asks the owner-lookup adapter for the owner's phone, sends an
// SMS through the gateway adapter asking the owner to move within the category's limit, and
// re-checks at the limit from the camera's later detections: gone is complied and no case
// opens; still there (ignored), a camera that went offline, or an owner who could not be told
// opens the enforcement case with the notice on its timeline. It keeps the counts per district.
// While an incident has a notice, it owns the incident's case: the rule path asks Holds first.
//
// It must not import dispatch, camera, api or the store drivers: detections arrive as
// Detection values from app, cases are opened through the Cases interface declared here,
// owners and SMS through Owners and Sender (notices/owners is the HTTP owner lookup; app adapts
// dispatch/notify/sms), notices persist through Store. Plates are masked in logs.
package notices
