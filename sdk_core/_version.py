VERSION = "0.1.0.dev0"
SDK_NAME = "coderadar.python"
