module github.com/ozanturksever/go-cluster/plugins/testdata/guests

go 1.26

require github.com/ozanturksever/go-cluster/sdk-go v0.0.0

require github.com/extism/go-pdk v1.1.3

replace github.com/ozanturksever/go-cluster/sdk-go => ../../../sdk-go
