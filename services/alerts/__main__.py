from services.alerts.app import run_detector

run_detector()
