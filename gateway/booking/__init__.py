"""Booking: free slots, holds and confirms."""
