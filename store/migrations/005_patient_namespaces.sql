-- Patient references are namespaced by issuer: gateway sessions were already 'session:<uuid>';
-- partners' references become 'partner:<sub>' (the gateway shows them without the prefix).
UPDATE appointments SET patient_ref = 'partner:' || patient_ref
 WHERE patient_ref IS NOT NULL AND patient_ref NOT LIKE 'session:%';
