-- A moved appointment's manage link names where it went: find the appointment that replaced it
-- (the chain of moves, newest last) without scanning every appointment.
CREATE INDEX appointments_previous_idx ON appointments (previous_appointment_id)
    WHERE previous_appointment_id IS NOT NULL;
