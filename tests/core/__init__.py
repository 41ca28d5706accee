# OpenVINO's CPU default precision is bf16 on CPUs with AMX / AVX512-BF16: the tests that check a
# converted model's numbers compile with this so they hold on every CPU.
OPENVINO_EXACT = {"INFERENCE_PRECISION_HINT": "f32"}
