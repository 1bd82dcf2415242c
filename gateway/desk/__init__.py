"""The front desk: staff see and release live holds, book for a patient, and "meet now"."""
