from services.extract.app import run_worker

run_worker()
